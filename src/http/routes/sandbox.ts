import { describeRoute } from '../openapi/route-doc.js';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { SpendingService } from '../../cards/spend/service.js';
import type { Clock } from '../../clock.js';
import { isUuid } from '../../protocol/api.js';
import { authorizationResponseSchema, captureRequestSchema, refundRequestSchema, sandboxAuthorizationRequestSchema, type AuthorizationResponse } from '../../protocol/spending.js';
import { FailureLimiter } from '../../wallet-auth/failure-limiter.js';
import type { IdempotencyEnv } from '../idempotency/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { authorizationJson } from './spend-views.js';
import { CHECKOUT_PAGE_CSP, checkoutPage, checkoutResultPage, type CheckoutOrder } from '../pages/checkout-page.js';

type SandboxAuthorization = z.output<typeof sandboxAuthorizationRequestSchema>;

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

  /** 429 before any lookup for an IP that keeps presenting card data that matches no card. */
  const refuseBlockedIp = (ip: string) => {
    const blockedMs = failures.blockedForMs(ip, clock.nowMs());
    if (blockedMs > 0) {
      const seconds = Math.ceil(blockedMs / 1000);
      throw new AppError('RATE_LIMITED', 'too many authorizations with card data that matches no card from this address', {
        headers: { 'Retry-After': String(seconds) },
        extra: { retryAfter: seconds },
      });
    }
  };
  /** The sandbox network's authorization, for the JSON route and the checkout page alike. */
  const authorize = async (ip: string, body: SandboxAuthorization) => {
    const { authorization, cardMatched } = await spending.authorize({
      lookup: { kind: 'sandbox', card: { cardNumber: body.cardNumber, expiryMonth: body.expiryMonth, expiryYear: body.expiryYear, cvv: body.cvv } },
      amountCents: body.amount,
      currency: body.currency,
      merchant: body.merchant,
    });
    if (!cardMatched) failures.recordFailure(ip, clock.nowMs());
    return authorizationJson(authorization);
  };

  routes.post('/sandbox/authorizations', describeRoute({
    summary: 'Sandbox card network: authorize a charge with card data', tags: ['sandbox'], auth: 'none', body: sandboxAuthorizationRequestSchema,
    responses: { 201: { description: 'the authorization (approved or declined)', schema: authorizationResponseSchema } }, errors: ['RATE_LIMITED', 'CONFLICT'],
  }), deps.idempotent, async (c) => {
    const ip = c.get('clientIp');
    refuseBlockedIp(ip);
    const body = await readJsonBody(c, sandboxAuthorizationRequestSchema);
    return c.json({ authorization: await authorize(ip, body) } satisfies AuthorizationResponse, 201);
  });

  // The checkout page: a merchant's payment form on this network (no script; strict CSP).
  const pageHeaders = (c: Context) => {
    c.header('Content-Security-Policy', CHECKOUT_PAGE_CSP);
    c.header('X-Frame-Options', 'DENY');
  };
  routes.get('/sandbox/checkout', describeRoute({
    summary: "Sandbox checkout: a merchant's payment form", tags: ['sandbox'], auth: 'none', responses: { 200: { description: 'HTML', contentType: 'text/html' } },
  }), (c) => {
    pageHeaders(c);
    const q = c.req.query();
    const order: CheckoutOrder = { merchant: q.merchant ?? 'Sandbox Merchant', mcc: q.mcc ?? '5734', country: q.country ?? 'US', amount: q.amount ?? '10.00' };
    return c.html(checkoutPage(order));
  });
  routes.post('/sandbox/checkout', describeRoute({
    summary: 'Sandbox checkout: submit the payment form', tags: ['sandbox'], auth: 'none', responses: { 200: { description: 'HTML: approved or declined', contentType: 'text/html' } }, errors: ['RATE_LIMITED'],
  }), async (c) => {
    pageHeaders(c);
    const ip = c.get('clientIp');
    refuseBlockedIp(ip);
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
    const order: CheckoutOrder = { merchant: field('merchant'), mcc: field('mcc'), country: field('country'), amount: field('amount') };
    const parsed = sandboxAuthorizationRequestSchema.safeParse({
      cardNumber: field('cardNumber').replace(/[\s-]/g, ''),
      expiryMonth: Number(field('expiryMonth')),
      expiryYear: Number(field('expiryYear')),
      cvv: field('cvv'),
      amount: order.amount,
      currency: 'USD',
      merchant: { name: order.merchant, mcc: order.mcc, country: order.country },
    });
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))];
      return c.html(checkoutPage(order, `Please check: ${fields.join(', ')}`), 400);
    }
    return c.html(checkoutResultPage(await authorize(ip, parsed.data)));
  });

  const authorizationId = (id: string) => {
    if (!isUuid(id)) throw new AppError('AUTHORIZATION_NOT_FOUND', 'authorization not found');
    return id;
  };

  routes.get('/sandbox/authorizations/:id', describeRoute({
    summary: 'Sandbox card network: an authorization', tags: ['sandbox'], auth: 'none', params: { id: 'the authorization id (UUID)' },
    responses: { 200: { description: 'the authorization', schema: authorizationResponseSchema } }, errors: ['NOT_FOUND'],
  }), async (c) => {
    const authorization = await spending.getAuthorization(authorizationId(c.req.param('id')));
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/capture', describeRoute({
    summary: 'Sandbox card network: capture an authorization', tags: ['sandbox'], auth: 'none', params: { id: 'the authorization id (UUID)' }, body: captureRequestSchema.optional(),
    responses: { 200: { description: 'the authorization', schema: authorizationResponseSchema } }, errors: ['NOT_FOUND', 'CONFLICT'],
  }), deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const body = await readJsonBody(c, captureRequestSchema.optional());
    const authorization = await spending.capture(id, body?.amount);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/reverse', describeRoute({
    summary: 'Sandbox card network: reverse an authorization', tags: ['sandbox'], auth: 'none', params: { id: 'the authorization id (UUID)' },
    responses: { 200: { description: 'the authorization', schema: authorizationResponseSchema } }, errors: ['NOT_FOUND', 'CONFLICT'],
  }), deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const authorization = await spending.reverse(id);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  routes.post('/sandbox/authorizations/:id/refund', describeRoute({
    summary: 'Sandbox card network: refund an authorization', tags: ['sandbox'], auth: 'none', params: { id: 'the authorization id (UUID)' }, body: refundRequestSchema,
    responses: { 200: { description: 'the authorization', schema: authorizationResponseSchema } }, errors: ['NOT_FOUND', 'CONFLICT'],
  }), deps.idempotent, async (c) => {
    const id = authorizationId(c.req.param('id'));
    const body = await readJsonBody(c, refundRequestSchema);
    const authorization = await spending.refund(id, body.amount);
    return c.json({ authorization: authorizationJson(authorization) } satisfies AuthorizationResponse);
  });

  return routes;
}
