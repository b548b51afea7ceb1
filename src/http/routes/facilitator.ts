import { Hono } from 'hono';
import { createFacilitatorApp } from '../../facilitator/server.js';
import type { Facilitator } from '../../facilitator/types.js';
import { bearerToken } from '../kernel/bearer-token.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';

/**
 * Our facilitator for other x402 resource servers: the standard API (GET /supported, POST /verify,
 * POST /settle), mounted at /facilitator when FACILITATOR_SERVE=true. It is the very facilitator
 * our own payments use (same channel pool, same "pending, never failed" rule for a transaction that
 * may still land), behind FACILITATOR_API_KEYS bearer tokens when any are configured.
 */
export function facilitatorRoutes(deps: { facilitator: Facilitator; network: string; apiKeys: readonly string[] }): Hono<AppEnv> {
  const app = new Hono<AppEnv>(ROUTER_OPTIONS);
  app.use('*', bearerToken({ tokens: deps.apiKeys, realm: 'card402 facilitator' }));
  app.route('/', createFacilitatorApp(deps.facilitator, { network: deps.network }));
  return app;
}
