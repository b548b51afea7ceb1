import { describeRoute } from '../openapi/route-doc.js';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import type { SpendingService } from '../../cards/spend/service.js';
import type { Clock } from '../../clock.js';
import { ISSUER_SIGNATURE_HEADER, ISSUER_TIMESTAMP_HEADER, issuerAuthorizationRequestSchema, issuerDecisionSchema, type IssuerDecision } from '../../protocol/spending.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { requestHeader } from '../kernel/request-header.js';

export interface IssuerRoutesDeps {
  spending: SpendingService;
  clock: Clock;
  /** The secret shared with the issuer (ISSUER_AUTH_SECRET). */
  secret: string;
  maxSkewSeconds: number;
}

/** Hex HMAC-SHA256 of `${timestamp}.${body}` under the shared secret: what the issuer sends. */
export function issuerSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

const refuse = (message: string) => new AppError('ISSUER_SIGNATURE_INVALID', message);

/**
 * The issuer's signature: X-Card402-Timestamp (unix seconds, within maxSkewSeconds of now) and
 * X-Card402-Signature (hex HMAC-SHA256 over `timestamp.body`, compared in constant time). A missing,
 * stale or wrong one is 401 before the body is parsed.
 */
function issuerAuth(deps: IssuerRoutesDeps): MiddlewareHandler<AppEnv> {
  return async function verifyIssuerSignature(c, next) {
    const timestamp = requestHeader(c, ISSUER_TIMESTAMP_HEADER);
    const signature = requestHeader(c, ISSUER_SIGNATURE_HEADER);
    if (!timestamp || !signature) throw refuse(`${ISSUER_TIMESTAMP_HEADER} and ${ISSUER_SIGNATURE_HEADER} are required`);
    if (!/^\d{1,12}$/.test(timestamp)) throw refuse(`${ISSUER_TIMESTAMP_HEADER} must be unix seconds`);
    const skew = Math.abs(Math.floor(deps.clock.nowMs() / 1000) - Number(timestamp));
    if (skew > deps.maxSkewSeconds) throw refuse(`${ISSUER_TIMESTAMP_HEADER} is more than ${deps.maxSkewSeconds} s from server time`);
    const body = await c.req.text();
    const expected = Buffer.from(issuerSignature(deps.secret, timestamp, body), 'utf8');
    const given = Buffer.from(signature.trim().toLowerCase(), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refuse('the signature does not match the body');
    await next();
  };
}

/**
 * A real issuer's real-time authorization (issue #13): the same decision function as the sandbox
 * network. The issuer names the card by its own reference and the authorization by its own id
 * (a retry gets the first answer). Served only when ISSUER_AUTH_SECRET is set.
 */
export function issuerRoutes(deps: IssuerRoutesDeps) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  routes.post('/issuer/authorizations', describeRoute({
    summary: "A real issuer asks for an authorization decision (HMAC-signed)", tags: ['spending'], auth: 'none', body: issuerAuthorizationRequestSchema,
    headers: [{ name: ISSUER_TIMESTAMP_HEADER, required: true, description: 'unix seconds' }, { name: ISSUER_SIGNATURE_HEADER, required: true, description: 'HMAC-SHA256 over "<timestamp>.<body>" with ISSUER_AUTH_SECRET' }],
    responses: { 200: { description: 'approved or declined, with the reason', schema: issuerDecisionSchema } }, errors: ['UNAUTHORIZED'],
  }), issuerAuth(deps), async (c) => {
    const body = await readJsonBody(c, issuerAuthorizationRequestSchema);
    const { authorization } = await deps.spending.authorize({
      lookup: { kind: 'issuer', cardReference: body.cardReference, issuerRef: body.id },
      amountCents: body.amount,
      currency: body.currency,
      merchant: body.merchant,
    });
    return c.json({
      approved: authorization.status !== 'declined',
      authorizationId: authorization.id,
      ...(authorization.decline_reason ? { declineReason: authorization.decline_reason as IssuerDecision['declineReason'] } : {}),
      ...(authorization.decline_detail ? { declineDetail: authorization.decline_detail } : {}),
    } satisfies IssuerDecision);
  });
  return routes;
}
