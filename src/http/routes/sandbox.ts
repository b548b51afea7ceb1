import { Hono, type MiddlewareHandler } from 'hono';
import type { SpendingService } from '../../cards/spend/service.js';
import type { Clock } from '../../clock.js';
import { isUuid } from '../../protocol/api.js';
import { captureRequestSchema, refundRequestSchema, sandboxAuthorizationRequestSchema, type AuthorizationResponse } from '../../protocol/spending.js';
import { FailureLimiter } from '../../wallet-auth/failure-limiter.js';
import type { IdempotencyEnv } from '../idempotency/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { authorizationJson } from './spend-views.js';

export interface SandboxRoutesDeps {
  spending: SpendingService;
  /** `Idempotency-Key` on every write (scoped to the client IP: merchants do not sign). */
  idempotent: MiddlewareHandler<IdempotencyEnv>;
  clock: Clock;
  /** Card data that matched no card, allowed per client IP per window (then 429 before any lookup). */
  cardFailuresPerIp: number;
  cardFailureWindowMs: number;
}

/**
 * The sandbox card network (issue #13): merchants present a card402 card as an acquirer would, and
 * capture, reverse or refund what they were authorized. Served only with the built-in sandbox
 * issuer. Card data is never echoed, logged or stored in clear; an IP that keeps presenting card
 * data that matches no card is refused for a while, so the endpoint is no oracle for numbers or CVVs.
 */
export function sandboxRoutes(deps: SandboxRoutesDeps) {
  const { spending, clock } = deps;
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  const failures = new FailureLimiter({ limit: deps.cardFailuresPerIp, windowMs: deps.cardFailureWindowMs });

  routes.post('/sandbox/authorizations', deps.idempotent, async (c) => {
    const ip = c.get('clientIp');
    const blockedMs = failures.blockedForMs(ip, clock.nowMs());
    if (blockedMs > 0) {
      const seconds = Math.ceil(blockedMs / 1000);
      throw new AppError('RATE_LIMITED', 'too many authorizations with card data that matches no card from this address', {
        headers: { 'Retry-After': String(seconds) },
        extra: { retryAfter: seconds },
      });
    }
    const body = await readJsonBody(c, sandboxAuthorizationRequestSchema);
    const { authorization, cardMatched } = await spending.authorize({
      lookup: { kind: 'sandbox', card: { cardNumber: body.cardNumber, expiryMonth: body.expiryMonth, expiryYear: body.expiryYear, cvv: body.cvv } },
      amountCents: body.amount,
      currency: body.currency,
      merchant: body.merchant,
    });
    if (!cardMatched) failures.recordFailure(ip, clock.nowMs());
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse, 201);
  });

  const authorizationId = (id: string) => {
    if (!isUuid(id)) throw new AppError('AUTHORIZATION_NOT_FOUND', 'authorization not found');
    return id;
  };

  routes.get('/sandbox/authorizations/:id', async (c) => {
    const authorization = await spending.getAuthorization(authorizationId(c.req.param('id')));
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/capture', deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const body = await readJsonBody(c, captureRequestSchema.optional());
    const authorization = await spending.capture(id, body?.amount);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/reverse', deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const authorization = await spending.reverse(id);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/refund', deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const body = await readJsonBody(c, refundRequestSchema);
    const authorization = await spending.refund(id, body.amount);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  return routes;
}
