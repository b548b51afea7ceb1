import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Config } from '../../config.js';
import { isUuid, paymentStatusSchema, type PaymentStatus } from '../../protocol/api.js';
import { describeRoute } from '../openapi/route-doc.js';
import type { PricingResult } from '../../protocol/money/pricing.js';
import { centsToDollarNumber, formatAtomic } from '../../protocol/money/units.js';
import type { PaymentService } from '../../payments/service.js';
import { paidRefusalError, type PaidAnswer } from '../../payments/refusals.js';
import type { PaidRequest } from '../../payments/types.js';
import { LEGACY_PAYMENT_HEADER, PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, encodeJsonHeader, encodeJsonTextHeader } from '../../protocol/x402-codec.js';
import type { PaymentRequired } from '../../protocol/x402.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import { DomainError } from '../../errors.js';
import { MANDATE_ID_HEADER, isMandateId } from '../../protocol/mandates.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { requestHeader } from '../kernel/request-header.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The one function that builds a 402: the same PaymentRequired as JSON body and base64 header. */
export function paymentRequiredResponse(c: Context<AppEnv>, paymentRequired: PaymentRequired): Response {
  // Serialised once for both: every card starts with this answer.
  const json = JSON.stringify(paymentRequired);
  c.header(PAYMENT_REQUIRED_HEADER, encodeJsonTextHeader(json));
  return c.body(json, 402, { 'Content-Type': 'application/json' });
}

function priced(result: PricingResult) {
  if (!result.ok) throw new AppError('INVALID_AMOUNT', result.reason);
  return result.price;
}

function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = requestHeader(c, IDEMPOTENCY_KEY_HEADER);
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) throw new AppError('BAD_REQUEST', 'Idempotency-Key must be 1-255 visible ASCII characters');
  return key;
}

/** The one function that builds a paid request's success: the card (or funding) and the x402 settlement header. */
function paidResponse(c: Context<AppEnv>, outcome: Extract<PaidAnswer, { type: 'fulfilled' }>): Response {
  c.header(PAYMENT_RESPONSE_HEADER, encodeJsonHeader(outcome.settlement));
  return c.json(outcome.body, outcome.httpStatus);
}

export function paidRoutes(deps: {
  config: Config;
  payments: PaymentService;
  authRead: MiddlewareHandler<WalletEnv>;
  /** Purchases within a mandate are wallet-signed by the agent (single use), instead of paid. */
  authSingleUse?: MiddlewareHandler<WalletEnv>;
}) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);

  const handle = async (c: Context<AppEnv>, request: PaidRequest) => {
    const outcome = await deps.payments.handle({
      request,
      resourceUrl: deps.config.publicBaseUrl + c.req.path,
      paymentHeader: requestHeader(c, PAYMENT_SIGNATURE_HEADER) ?? requestHeader(c, LEGACY_PAYMENT_HEADER),
      idempotencyKey: idempotencyKeyOf(c),
    });
    if (outcome.type === 'payment_required') return paymentRequiredResponse(c, outcome.paymentRequired);
    if (outcome.type === 'fulfilled') return paidResponse(c, outcome);
    throw paidRefusalError(outcome);
  };

  // A purchase within a mandate (issue 17): the agent signs the request (wallet auth) and names the
  // mandate; the owner pays from the allowance they approved on-chain, no x402 payment.
  const handleMandate = async (c: Context<AppEnv>, request: PaidRequest, mandateId: string) => {
    const auth = deps.authSingleUse;
    if (!auth || !deps.payments.servesMandates || !isMandateId(mandateId)) throw new DomainError('mandate_not_found', 'mandate not found');
    let response: Response | undefined;
    await auth(c as unknown as Context<WalletEnv>, async () => {
      const outcome = await deps.payments.handleMandate({
        request,
        agent: (c as unknown as Context<WalletEnv>).get('wallet').address,
        mandateId,
        idempotencyKey: idempotencyKeyOf(c),
      });
      if (outcome.type === 'payment_required') throw new Error('a mandate purchase never asks for a payment');
      if (outcome.type === 'fulfilled') response = paidResponse(c, outcome);
      else throw paidRefusalError(outcome);
    });
    if (!response) throw new Error('wallet auth passed without running the purchase');
    return response;
  };

  // One route per paid product (payments/products). Path and body are validated before any
  // payment is asked for or taken.
  for (const product of deps.payments.products) {
    const { route, price: priceOf } = product;
    if (!route || !priceOf) continue; // sold by its own service (see PaidProduct.route)
    routes.post(route, describeRoute({
      summary: product.description,
      description: 'Paid with x402: without a payment the answer is 402 with the challenge; pay it and send the same request with PAYMENT-SIGNATURE.',
      tags: ['paid'], auth: 'x402', body: product.body,
      params: { amount: 'US dollars, at most two decimals' },
      responses: { [product.successStatus]: { description: 'paid and fulfilled', ...(product.response ? { schema: product.response } : {}) } },
      errors: ['NOT_FOUND'],
    }), async (c) => {
      const price = priced(priceOf(c.req.param() as Record<string, string>));
      const body = await readJsonBody(c, product.body);
      const mandateId = requestHeader(c, MANDATE_ID_HEADER);
      if (mandateId !== undefined) return handleMandate(c, { product, price, body }, mandateId);
      return handle(c, { product, price, body });
    });
  }

  // Only the wallet that paid sees a payment; anyone else gets the same 404 as for an unknown id.
  routes.get('/payments/:paymentId', describeRoute({
    summary: 'A payment you made', tags: ['paid'], auth: 'wallet', params: { paymentId: 'the payment id (UUID)' },
    responses: { 200: { description: 'its status, settlement and refund', schema: paymentStatusSchema } }, errors: ['NOT_FOUND'],
  }), deps.authRead, async (c) => {
    const id = c.req.param('paymentId');
    const payment = isUuid(id) ? await deps.payments.paymentStatus(id) : undefined;
    const wallet = c.get('wallet').address;
    // The payer, or the agent that bought within its owner's mandate (the holder).
    if (!payment || (payment.payer !== wallet && payment.holder !== wallet)) throw new AppError('NOT_FOUND', 'payment not found');
    return c.json({
      paymentId: payment.id,
      kind: payment.kind,
      status: payment.status,
      payer: payment.payer,
      network: payment.network,
      amountAtomic: payment.amount_atomic,
      amount: formatAtomic(BigInt(payment.amount_atomic)),
      amountCharged: centsToDollarNumber(payment.total_cents),
      txHash: payment.settle_tx_hash,
      cardId: payment.card_id,
      refundTxHash: payment.refund_tx_hash,
      createdAt: new Date(payment.created_at).toISOString(),
      updatedAt: new Date(payment.updated_at).toISOString(),
    } satisfies PaymentStatus);
  });
  return routes;
}
