import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { PaymentRequestService } from '../../approvals/service.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import type { PaymentService } from '../../payments/service.js';
import type { Config } from '../../config.js';
import { priceCardCreation, priceCardFunding } from '../../protocol/money/pricing.js';
import {
  APPROVAL_TOKEN,
  PAYMENT_REQUEST_ID,
  approvalAnswerSchema,
  approvalPrepareRequestSchema,
  approvalPreparedSchema,
  approvalResultSchema,
  approvalViewSchema,
  createdPaymentRequestSchema,
  createPaymentRequestSchema,
  paymentRequestViewSchema,
  type ApprovalResult,
} from '../../protocol/payment-requests.js';
import { LEGACY_PAYMENT_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, encodeJsonHeader } from '../../protocol/x402-codec.js';
import { paidRefusalError } from '../../payments/refusals.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { requestHeader } from '../kernel/request-header.js';
import { approvePageRoutes } from './approve-page.js';
import { describeRoute } from '../openapi/route-doc.js';
import { paymentRequiredResponse } from './paid.js';

/** Payment requests whole: the service, its API and the approval page (mounted with one line in app.ts). */
export function ownerApprovalRoutes(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  payments: PaymentService;
  authRead: MiddlewareHandler<WalletEnv>;
  authSingleUse: MiddlewareHandler<WalletEnv>;
}) {
  const requests = new PaymentRequestService({
    db: deps.db,
    clock: deps.clock,
    payments: deps.payments,
    publicBaseUrl: deps.config.publicBaseUrl,
    ttlSeconds: deps.config.paymentRequests.ttlSeconds,
  });
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  routes.route('/', paymentRequestRoutes({ config: deps.config, requests, authRead: deps.authRead, authSingleUse: deps.authSingleUse }));
  routes.route('/', approvePageRoutes({ requests }));
  return routes;
}

export interface PaymentRequestRoutesDeps {
  config: Config;
  requests: PaymentRequestService;
  authRead: MiddlewareHandler<WalletEnv>;
  authSingleUse: MiddlewareHandler<WalletEnv>;
}

/** The request id from the path; a malformed one is the same 404 as an unknown one. */
function requestId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!PAYMENT_REQUEST_ID.test(id)) throw new AppError('PAYMENT_REQUEST_NOT_FOUND', 'payment request not found');
  return id;
}

function tokenQuery(c: Context): string {
  const token = c.req.query('token') ?? '';
  if (!APPROVAL_TOKEN.test(token)) throw new AppError('PAYMENT_REQUEST_NOT_FOUND', 'payment request not found');
  return token;
}

/**
 * Payment requests (issue 16). The agent's side is wallet-signed: `POST /payment-requests` asks,
 * `GET /payment-requests/:id` polls. The owner's side is authorised by the approval token alone:
 * `GET …/approval?token=` reads what is asked, `POST …/approval` answers (`approve` with an x402
 * payment for exactly the quoted price, or `reject`), `POST …/approval/prepare` builds the unsigned
 * transfer a browser wallet signs (the approval page, http/routes/approve-page.ts).
 */
/** The approval token in the query, as the document shows it. */
const tokenQueryDoc = z.object({ token: z.string().regex(APPROVAL_TOKEN).describe('the approval token from the link') });

export function paymentRequestRoutes(deps: PaymentRequestRoutesDeps) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);

  routes.post('/payment-requests', describeRoute({
    summary: 'Ask the card owner to pay for a card or a top-up', tags: ['payment requests'], auth: 'wallet', body: createPaymentRequestSchema,
    responses: { 201: { description: 'the request, with the approval link for the owner', schema: createdPaymentRequestSchema } }, errors: ['INVALID_AMOUNT', 'NOT_FOUND'],
  }), deps.authSingleUse, async (c) => {
    const body = await readJsonBody(c, createPaymentRequestSchema);
    const priced = body.kind === 'create' ? priceCardCreation(body.amount) : priceCardFunding(body.amount);
    if (!priced.ok) throw new AppError('INVALID_AMOUNT', priced.reason);
    const common = { price: priced.price, ownerAddress: body.ownerAddress, note: body.note || undefined };
    const created = await deps.requests.create(
      c.get('wallet').address,
      body.kind === 'create' ? { ...common, kind: 'create', nameOnCard: body.nameOnCard, email: body.email } : { ...common, kind: 'fund', cardId: body.cardId },
    );
    return c.json(created, 201);
  });

  routes.get('/payment-requests/:id', describeRoute({
    summary: 'Poll a payment request (the agent that made it)', tags: ['payment requests'], auth: 'wallet', params: { id: 'the payment request id (pr_…)' },
    responses: { 200: { description: 'its status and, once paid, the card', schema: paymentRequestViewSchema } }, errors: ['NOT_FOUND'],
  }), deps.authRead, async (c) => {
    return c.json(await deps.requests.viewForAgent(c.get('wallet').address, requestId(c)));
  });

  routes.get('/payment-requests/:id/approval', describeRoute({
    summary: 'What a payment request asks (the owner, with its approval token)', tags: ['payment requests'], auth: 'none', params: { id: 'the payment request id (pr_…)' }, query: tokenQueryDoc,
    responses: { 200: { description: 'what is asked and its price', schema: approvalViewSchema } }, errors: ['NOT_FOUND', 'VALIDATION_ERROR'],
  }), async (c) => {
    return c.json(await deps.requests.viewForToken(requestId(c), tokenQuery(c)));
  });

  routes.post('/payment-requests/:id/approval/prepare', describeRoute({
    summary: 'Build the unsigned transfer a browser wallet signs to approve', tags: ['payment requests'], auth: 'none', params: { id: 'the payment request id (pr_…)' }, body: approvalPrepareRequestSchema,
    responses: { 200: { description: 'the transaction to sign', schema: approvalPreparedSchema } }, errors: ['NOT_FOUND', 'CONFLICT', 'SERVICE_UNAVAILABLE'],
  }), async (c) => {
    const id = requestId(c);
    const body = await readJsonBody(c, approvalPrepareRequestSchema);
    return c.json(await deps.requests.prepare({ id, token: body.token, payer: body.payer, resourceUrl: resourceUrl(deps.config, id) }));
  });

  routes.post('/payment-requests/:id/approval', describeRoute({
    summary: 'Approve (paying with x402) or reject a payment request', tags: ['payment requests'], auth: 'x402', params: { id: 'the payment request id (pr_…)' }, body: approvalAnswerSchema,
    responses: { 200: { description: 'rejected, or paid and fulfilled', schema: approvalResultSchema } }, errors: ['NOT_FOUND', 'CONFLICT'],
  }), async (c) => {
    const id = requestId(c);
    const body = await readJsonBody(c, approvalAnswerSchema);
    if (body.action === 'reject') {
      const rejected = await deps.requests.reject(id, body.token);
      return c.json({ success: true, id: rejected.id, status: rejected.status } satisfies ApprovalResult);
    }
    const outcome = await deps.requests.approve({
      id,
      token: body.token,
      paymentHeader: requestHeader(c, PAYMENT_SIGNATURE_HEADER) ?? requestHeader(c, LEGACY_PAYMENT_HEADER),
      resourceUrl: resourceUrl(deps.config, id),
    });
    if (outcome.type === 'payment_required') return paymentRequiredResponse(c, outcome.paymentRequired);
    if (outcome.type === 'fulfilled') {
      c.header(PAYMENT_RESPONSE_HEADER, encodeJsonHeader(outcome.settlement));
      return c.json(outcome.body, outcome.httpStatus);
    }
    throw paidRefusalError(outcome);
  });

  return routes;
}

/** The x402 resource a request's payment is for (PUBLIC_BASE_URL, never the Host header). */
function resourceUrl(config: Config, id: string): string {
  return `${config.publicBaseUrl}/payment-requests/${id}/approval`;
}
