import type { PaymentRequestRow, PaymentRequestStoredStatus, PaymentStatus } from '../db/schema.js';
import type { PaymentRequestStatus } from '../protocol/payment-requests.js';

/**
 * The lifecycle of a payment request (docs/ARCHITECTURE.md, "Payment requests").
 *
 * Stored: pending → approved (a payment claimed it, in the write that records the payment) →
 * completed (the card issued or funded, in the fulfilment transaction); pending → rejected.
 * approved → approved: the claiming payment failed with no money moved, and a new payment claims
 * the request again (while it has not expired).
 *
 * Shown (derived when read): `expired` — pending (or claimed by a failed payment) past its
 * expiry; `failed` — the payment settled but the card could not be provided and the money is
 * being (or was) refunded; `pending` again while a failed payment's request may still be paid.
 */
export const REQUEST_TRANSITIONS: Readonly<Record<PaymentRequestStoredStatus, readonly PaymentRequestStoredStatus[]>> = {
  pending: ['approved', 'rejected'],
  approved: ['approved', 'completed', 'rejected'],
  completed: [],
  rejected: [],
};

/** Payment statuses in which the claim on a request is void: no money moved, it may be paid again. */
export const RELEASED_PAYMENT_STATUSES: readonly PaymentStatus[] = ['failed'];
/** Payment statuses in which a request has failed: paid, not fulfilled, refunded (or being refunded). */
export const FAILED_PAYMENT_STATUSES: readonly PaymentStatus[] = ['refunding', 'refunded'];

export function requestStatus(row: PaymentRequestRow, paymentStatus: PaymentStatus | undefined, nowMs: number): PaymentRequestStatus {
  const expired = nowMs >= row.expires_at;
  switch (row.status) {
    case 'completed':
    case 'rejected':
      return row.status;
    case 'pending':
      return expired ? 'expired' : 'pending';
    case 'approved':
      if (paymentStatus === 'fulfilled') return 'completed';
      if (paymentStatus !== undefined && FAILED_PAYMENT_STATUSES.includes(paymentStatus)) return 'failed';
      if (paymentStatus !== undefined && RELEASED_PAYMENT_STATUSES.includes(paymentStatus)) return expired ? 'expired' : 'pending';
      return 'approved';
  }
}

/** Whether the owner may still answer (approve or reject) a request in this shown status. */
export function isAnswerable(status: PaymentRequestStatus): boolean {
  return status === 'pending';
}
