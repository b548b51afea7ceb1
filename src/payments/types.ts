import type { PaymentStatus } from '../db/schema.js';
import type { Price } from '../protocol/money/pricing.js';
import type { PaymentRequired, SettlementResponse } from '../protocol/x402.js';
import type { PaidProduct } from './products/index.js';

/** A priced purchase of one product, its body validated by the product's schema. */
export interface PaidRequest {
  product: PaidProduct<any>;
  price: Price;
  body: unknown;
}

export interface PaidCall {
  request: PaidRequest;
  /** Public URL of the resource (from PUBLIC_BASE_URL, never the Host header). */
  resourceUrl: string;
  paymentHeader?: string | undefined;
  idempotencyKey?: string | undefined;
}

/** What a paid request came to; routes map each case to exactly one response. */
export type PaidOutcome =
  | { type: 'payment_required'; paymentRequired: PaymentRequired }
  | { type: 'provider_capacity'; retryAfterSeconds: number }
  | { type: 'network_unavailable' }
  | { type: 'card_not_found' }
  /** The product would not reserve what the payment pays for (PaidProduct.claim); nothing was charged. */
  | { type: 'unavailable' }
  | { type: 'card_closed' }
  | { type: 'idempotency_conflict' }
  | { type: 'in_progress'; paymentId: string; retryAfterSeconds: number }
  /** The ledger can no longer tell whether this payment's money moved; a person resolves it. */
  | { type: 'under_review'; paymentId: string }
  | {
      type: 'fulfilment_failed';
      paymentId: string;
      status: PaymentStatus;
      settlement?: SettlementResponse;
      refundTxHash?: string | null;
    }
  | { type: 'fulfilled'; httpStatus: 200 | 201; body: Record<string, unknown>; settlement: SettlementResponse };

