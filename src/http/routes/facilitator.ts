import { Hono } from 'hono';
import { createFacilitatorApp } from '../../facilitator/server.js';
import type { Facilitator } from '../../facilitator/types.js';
import { bearerToken } from '../kernel/bearer-token.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { describeRoute } from '../openapi/route-doc.js';
import { facilitatorRequestDocSchema, facilitatorSettleDocSchema, facilitatorSupportedDocSchema, facilitatorVerifyDocSchema } from '../openapi/x402-schemas.js';

/**
 * Our facilitator for other x402 resource servers: the standard API (GET /supported, POST /verify,
 * POST /settle), mounted at /facilitator when FACILITATOR_SERVE=true. It is the very facilitator
 * our own payments use (same channel pool, same "pending, never failed" rule for a transaction that
 * may still land), behind FACILITATOR_API_KEYS bearer tokens when any are configured.
 */
export function facilitatorRoutes(deps: { facilitator: Facilitator; network: string; apiKeys: readonly string[] }): Hono<AppEnv> {
  const app = new Hono<AppEnv>(ROUTER_OPTIONS);
  app.use('*', bearerToken({ tokens: deps.apiKeys, realm: 'card402 facilitator' }));
  // The standard API's handlers live in facilitator/server.ts; these describe them and pass on.
  const doc = { tags: ['facilitator'], auth: 'bearer:facilitator' } as const;
  app.get('/supported', describeRoute({ ...doc, summary: 'x402 facilitator: supported kinds, extensions and signers', responses: { 200: { description: 'what it settles, and the accounts it signs with', schema: facilitatorSupportedDocSchema } } }));
  app.post('/verify', describeRoute({ ...doc, summary: 'x402 facilitator: verify a payment', body: facilitatorRequestDocSchema, responses: { 200: { description: 'valid, or why not', schema: facilitatorVerifyDocSchema }, 400: { description: 'malformed request', schema: facilitatorVerifyDocSchema } } }));
  app.post('/settle', describeRoute({ ...doc, summary: 'x402 facilitator: settle a payment on our channel pool', description: 'Never reports "failed" for a transaction that may still land: that is `success: false`, `errorReason: settlement_pending`, with the hash.', body: facilitatorRequestDocSchema, responses: { 200: { description: 'settled, or why not', schema: facilitatorSettleDocSchema }, 400: { description: 'malformed request', schema: facilitatorSettleDocSchema } } }));
  app.route('/', createFacilitatorApp(deps.facilitator, { network: deps.network }));
  return app;
}
