import type { PaymentStatus } from '../db/schema.js';

/**
 * The lifecycle of a payment (docs/ARCHITECTURE.md, "Payment states"). A status changes only
 * through `transitionPayment` (repository.ts), which refuses any edge not listed here; a self-edge
 * is an update that keeps the status (a new envelope while settling, a fulfilment attempt counted).
 *
 * - settling: recorded with its first settlement envelope, before that envelope is sent.
 * - settled: the transfer is proven on the ledger; the card is not issued yet.
 * - fulfilled: the card is issued or funded (with the settlement, in one db transaction).
 * - paid_unfulfilled: the money arrived, the card could not be provided yet; retried, then refunded.
 * - refunding → refunded: the refund is recorded before it is sent, sent at most once.
 * - failed: no money moved, as far as the ledger shows; watched until that verdict is final.
 * - needs_review: the ledger can no longer tell whether the money moved; only a person resolves it.
 * - verified: written only by older versions (recovered like settling).
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  verified: ['settling', 'settled', 'failed', 'fulfilled', 'paid_unfulfilled'],
  settling: ['settling', 'settled', 'failed', 'fulfilled', 'paid_unfulfilled', 'needs_review'],
  settled: ['fulfilled', 'paid_unfulfilled'],
  paid_unfulfilled: ['paid_unfulfilled', 'fulfilled', 'refunding'],
  refunding: ['refunded'],
  failed: ['failed', 'paid_unfulfilled', 'needs_review'],
  fulfilled: [],
  refunded: [],
  needs_review: [],
};

/** The statuses a payment may be recorded in: settling (about to send), or failed (nothing could be sent). */
export const INITIAL_STATUSES: readonly PaymentStatus[] = ['settling', 'failed'];

export const PAYMENT_STATUSES = Object.keys(PAYMENT_TRANSITIONS) as PaymentStatus[];

/** A change of status the lifecycle does not allow: a bug in the caller, never a client's doing. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: PaymentStatus | 'new',
    readonly to: PaymentStatus,
  ) {
    super(`payment status cannot change from ${from} to ${to}`);
  }
}

function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return PAYMENT_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: PaymentStatus, to: PaymentStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

export function assertInitial(status: PaymentStatus): void {
  if (!INITIAL_STATUSES.includes(status)) throw new IllegalTransitionError('new', status);
}

/** Statuses in which a payment still needs work; start-up recovery and the reconciler resume them. */
export const UNFINISHED_STATUSES: readonly PaymentStatus[] = ['verified', 'settling', 'settled', 'paid_unfulfilled', 'refunding'];

/**
 * Statuses that only a person resolves: the ledger can no longer tell whether the money moved, so
 * nothing is fulfilled or refunded automatically (docs/ARCHITECTURE.md, "What proves a payment").
 */
export const REVIEW_STATUSES: readonly PaymentStatus[] = ['needs_review'];
