import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Config } from '../../config.js';
import { isUuid, type PaymentStatus } from '../../protocol/api.js';
import type { PricingResult } from '../../protocol/money/pricing.js';
import { centsToDollarNumber, formatAtomic } from '../../protocol/money/units.js';
import type { PaymentService } from '../../payments/service.js';
import type { PaidOutcome, PaidRequest } from '../../payments/types.js';
import { LEGACY_PAYMENT_HEADER, PAYMENT_REQUIRED_HEADER, PAYMENT_RESPONSE_HEADER, PAYMENT_SIGNATURE_HEADER, encodeJsonHeader, encodeJsonTextHeader } from '../../protocol/x402-codec.js';
import type { PaymentRequired } from '../../protocol/x402.js';
import type { AppEnv } from '../env.js';
import { AppError } from '../errors.js';
import { readJsonBody } from '../json-body.js';
import { requestHeader } from '../request-header.js';

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

function respond(c: Context<AppEnv>, outcome: PaidOutcome): Response {
  switch (outcome.type) {
    case 'payment_required':
      return paymentRequiredResponse(c, outcome.paymentRequired);
    case 'fulfilled':
      c.header(PAYMENT_RESPONSE_HEADER, encodeJsonHeader(outcome.settlement));
      return c.json(outcome.body, outcome.httpStatus);
    case 'provider_capacity':
      throw new AppError('SERVICE_UNAVAILABLE', 'the card provider is at capacity; try again later', {
        extra: { reason: 'provider_capacity', retryAfter: outcome.retryAfterSeconds },
        headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
      });
    case 'network_unavailable':
      throw new AppError('SERVICE_UNAVAILABLE', 'the payment network is unreachable; nothing was charged', {
        extra: { reason: 'network_unavailable', retryAfter: 5 },
        headers: { 'Retry-After': '5' },
      });
    case 'card_not_found':
      throw new AppError('NOT_FOUND', 'card not found');
    case 'idempotency_conflict':
      throw new AppError('CONFLICT', 'this payment or Idempotency-Key was already used for a different request');
    case 'in_progress':
      throw new AppError('PAYMENT_IN_PROGRESS', 'this payment is being processed; repeat the request with the same payment to get the result', {
        extra: { paymentId: outcome.paymentId, retryAfter: outcome.retryAfterSeconds },
        headers: { 'Retry-After': String(outcome.retryAfterSeconds) },
      });
    case 'under_review':
      throw new AppError('PAYMENT_UNDER_REVIEW', 'the outcome of this payment cannot be established from the ledger; it is held for review and nothing more will be charged', {
        extra: { paymentId: outcome.paymentId },
      });
    case 'fulfilment_failed':
      throw new AppError(
        'FULFILMENT_FAILED',
        outcome.status === 'refunded'
          ? 'the card could not be provided; the payment was refunded on-chain'
          : 'the payment settled but the card could not be provided yet; it is retried and otherwise refunded',
        {
          extra: { paymentId: outcome.paymentId, status: outcome.status, ...(outcome.refundTxHash ? { refundTxHash: outcome.refundTxHash } : {}) },
          headers: outcome.settlement ? { [PAYMENT_RESPONSE_HEADER]: encodeJsonHeader(outcome.settlement) } : {},
        },
      );
  }
}

export function paidRoutes(deps: { config: Config; payments: PaymentService; authRead: MiddlewareHandler<AppEnv> }) {
  const routes = new Hono<AppEnv>();

  const handle = async (c: Context<AppEnv>, request: PaidRequest) => {
    const outcome = await deps.payments.handle({
      request,
      resourceUrl: deps.config.publicBaseUrl + c.req.path,
      paymentHeader: requestHeader(c, PAYMENT_SIGNATURE_HEADER) ?? requestHeader(c, LEGACY_PAYMENT_HEADER),
      idempotencyKey: idempotencyKeyOf(c),
    });
    return respond(c, outcome);
  };

  // One route per paid product (payments/products). Path and body are validated before any
  // payment is asked for or taken.
  for (const product of deps.payments.products) {
    routes.post(product.route, async (c) => {
      const price = priced(product.price(c.req.param() as Record<string, string>));
      const body = await readJsonBody(c, product.body);
      return handle(c, { product, price, body });
    });
  }

  // Only the wallet that paid sees a payment; anyone else gets the same 404 as for an unknown id.
  routes.get('/payments/:paymentId', deps.authRead, async (c) => {
    const id = c.req.param('paymentId');
    const payment = isUuid(id) ? await deps.payments.paymentStatus(id) : undefined;
    if (!payment || payment.payer !== c.get('wallet')?.address) throw new AppError('NOT_FOUND', 'payment not found');
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
