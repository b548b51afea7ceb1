import { Hono, type MiddlewareHandler } from 'hono';
import type { SpendingService } from '../../cards/spend/service.js';
import { cardControlsPatchSchema, type ControlsResponse } from '../../protocol/spending.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import type { IdempotencyEnv } from '../idempotency/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { readJsonBody } from '../kernel/json-body.js';
import { controlsJson } from './spend-views.js';

export interface CardControlsRoutesDeps {
  spending: SpendingService;
  authSingleUse: MiddlewareHandler<WalletEnv>;
  /** `Idempotency-Key` (src/http/idempotency), mounted after wallet auth. */
  idempotent: MiddlewareHandler<IdempotencyEnv>;
}

/**
 * `PATCH /cards/:cardId` (wallet-signed): status (active | locked), limits, categories, merchants,
 * expiry. The holder may only tighten; loosening needs the owner (403 OWNER_ONLY naming the fields).
 */
export function cardControlsRoutes(deps: CardControlsRoutesDeps) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  routes.patch('/cards/:cardId', deps.authSingleUse, deps.idempotent, async (c) => {
    const { expiresAt, ...patch } = await readJsonBody(c, cardControlsPatchSchema);
    const { card, controls } = await deps.spending.updateControls(c.get('wallet').address, c.req.param('cardId'), {
      ...patch,
      ...(expiresAt === undefined ? {} : { expiresAtMs: expiresAt === null ? null : Date.parse(expiresAt) }),
    });
    return c.json({ success: true, cardId: card.id, status: card.status, controls: controlsJson(controls) } satisfies ControlsResponse);
  });
  return routes;
}
