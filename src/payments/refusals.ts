import { DomainError } from '../errors.js';
import type { PaidOutcome } from './types.js';

/** Seconds a caller should wait when the payment network could not be reached. */
export const NETWORK_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The outcomes of a paid request that are answers, not refusals. */
export type PaidAnswer = Extract<PaidOutcome, { type: 'payment_required' | 'fulfilled' }>;
export type PaidRefusal = Exclude<PaidOutcome, PaidAnswer>;

/**
 * A refused paid request as the DomainError the HTTP kernel maps (src/errors.ts). Pure data and
 * words, no HTTP: statuses and headers are decided in one place, `http/kernel/errors.ts`.
 * (Until PaymentService throws these itself, the paid route throws what this returns.)
 */
export function paidRefusalError(outcome: PaidRefusal): DomainError {
  switch (outcome.type) {
    case 'provider_capacity':
      return new DomainError('provider_capacity', 'the card provider is at capacity; try again later', { retryAfterSeconds: outcome.retryAfterSeconds });
    case 'network_unavailable':
      return new DomainError('network_unavailable', 'the payment network is unreachable; nothing was charged', {
        retryAfterSeconds: NETWORK_UNAVAILABLE_RETRY_AFTER_SECONDS,
      });
    case 'card_not_found':
      return new DomainError('card_to_fund_not_found', 'card not found');
    case 'unavailable':
      return new DomainError('purchase_unavailable', 'this purchase can no longer be paid (answered, expired, or paid already); nothing was charged');
    case 'card_closed':
      return new DomainError('card_closed', 'this card is closed and cannot be funded; nothing was charged');
    case 'idempotency_conflict':
      return new DomainError('idempotency_conflict', 'this payment or Idempotency-Key was already used for a different request');
    case 'in_progress':
      return new DomainError('payment_in_progress', 'this payment is being processed; repeat the request with the same payment to get the result', {
        paymentId: outcome.paymentId,
        retryAfterSeconds: outcome.retryAfterSeconds,
      });
    case 'under_review':
      return new DomainError(
        'payment_under_review',
        'the outcome of this payment cannot be established from the ledger; it is held for review and nothing more will be charged',
        { paymentId: outcome.paymentId },
      );
    case 'fulfilment_failed':
      return new DomainError(
        'fulfilment_failed',
        outcome.status === 'refunded'
          ? 'the card could not be provided; the payment was refunded on-chain'
          : 'the payment settled but the card could not be provided yet; it is retried and otherwise refunded',
        { paymentId: outcome.paymentId, status: outcome.status, settlement: outcome.settlement, refundTxHash: outcome.refundTxHash },
      );
  }
}
