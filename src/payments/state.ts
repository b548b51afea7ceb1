import type { PaymentStatus } from '../db/schema.js';

/** Statuses in which a payment still needs work; start-up recovery and the reconciler resume them. */
export const UNFINISHED_STATUSES: readonly PaymentStatus[] = ['verified', 'settling', 'settled', 'paid_unfulfilled', 'refunding'];

/**
 * Statuses that only a person resolves: the ledger can no longer tell whether the money moved, so
 * nothing is fulfilled or refunded automatically (docs/ARCHITECTURE.md, "What proves a payment").
 */
export const REVIEW_STATUSES: readonly PaymentStatus[] = ['needs_review'];
