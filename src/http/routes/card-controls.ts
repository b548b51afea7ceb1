import { controlsResponseSchema } from '../../protocol/spending.js';
import { describeRoute } from '../openapi/route-doc.js';
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
  routes.patch('/cards/:cardId', describeRoute({
    summary: 'Change spend controls and lock (the holder may only tighten)', tags: ['spending'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, headers: [{ name: 'Idempotency-Key', description: 'optional: a retry with the same key gets the first answer' }], body: cardControlsPatchSchema,
    responses: { 200: { description: 'the card status and its controls', schema: controlsResponseSchema } }, errors: ['CARD_NOT_FOUND', 'OWNER_ONLY', 'FORBIDDEN', 'CONFLICT'],
  }), deps.authSingleUse, deps.idempotent, async (c) => {
    const { expiresAt, ...patch } = await readJsonBody(c, cardControlsPatchSchema);
    const { card, controls } = await deps.spending.updateControls(c.get('wallet').address, c.req.param('cardId'), {
      ...patch,
      ...(expiresAt === undefined ? {} : { expiresAtMs: expiresAt === null ? null : Date.parse(expiresAt) }),
    });
    return c.json({ success: true, cardId: card.id, status: card.status, controls: controlsJson(controls) } satisfies ControlsResponse);
  });
  return routes;
}
