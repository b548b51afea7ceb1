import type { Executor } from '../cards/repository.js';
import type { PaymentRequestRow, PaymentRequestStoredStatus, PaymentRequestsTable } from '../db/schema.js';
import type { Insertable } from 'kysely';
import { REQUEST_TRANSITIONS, RELEASED_PAYMENT_STATUSES } from './state.js';

export class IllegalRequestTransitionError extends Error {
  override name = 'IllegalRequestTransitionError';
}

function assertEdge(from: PaymentRequestStoredStatus, to: PaymentRequestStoredStatus): void {
  if (!REQUEST_TRANSITIONS[from].includes(to)) throw new IllegalRequestTransitionError(`payment request status cannot change from ${from} to ${to}`);
}

export async function insertPaymentRequest(db: Executor, row: Insertable<PaymentRequestsTable>): Promise<void> {
  if (row.status !== 'pending') throw new IllegalRequestTransitionError(`a payment request starts pending, not ${row.status}`);
  await db.insertInto('payment_requests').values(row).execute();
}

export async function findPaymentRequest(db: Executor, id: string): Promise<PaymentRequestRow | undefined> {
  return db.selectFrom('payment_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Open to an answer (approve or reject): pending and not expired, or claimed by a payment that
 * failed with no money moved and not expired. One predicate, used by every compare-and-set below.
 */
function answerable(db: Executor, nowMs: number) {
  return db
    .updateTable('payment_requests')
    .where('expires_at', '>', nowMs)
    .where((eb) =>
      eb.or([
        eb('status', '=', 'pending'),
        eb.and([
          eb('status', '=', 'approved'),
          eb('payment_id', 'in', eb.selectFrom('payments').select('payments.id').where('payments.status', 'in', [...RELEASED_PAYMENT_STATUSES])),
        ]),
      ]),
    );
}

/**
 * pending (or released) → approved by `payment`: made in the write that records the payment, before
 * anything is sent, so a request is claimed by one payment at a time and a rejected or expired one
 * never is. The payment must be for exactly the quoted amount, from the named owner if there is one.
 */
export async function claimPaymentRequest(
  db: Executor,
  id: string,
  payment: { id: string; payer: string; amountAtomic: string },
  nowMs: number,
): Promise<boolean> {
  assertEdge('pending', 'approved');
  const result = await answerable(db, nowMs)
    .set({ status: 'approved', payment_id: payment.id, approver_address: payment.payer, answered_at: nowMs, updated_at: nowMs })
    .where('id', '=', id)
    .where('amount_atomic', '=', payment.amountAtomic)
    .where((eb) => eb.or([eb('owner_address', 'is', null), eb('owner_address', '=', payment.payer)]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** pending (or released) → rejected; false when the request can no longer be answered. */
export async function rejectPaymentRequest(db: Executor, id: string, nowMs: number): Promise<boolean> {
  assertEdge('pending', 'rejected');
  const result = await answerable(db, nowMs).set({ status: 'rejected', answered_at: nowMs, updated_at: nowMs }).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** approved by `paymentId` → completed with its card, in the fulfilment transaction. */
export async function completePaymentRequest(db: Executor, id: string, paymentId: string, cardId: string, nowMs: number): Promise<boolean> {
  assertEdge('approved', 'completed');
  const result = await db
    .updateTable('payment_requests')
    .set({ status: 'completed', card_id: cardId, updated_at: nowMs })
    .where('id', '=', id)
    .where('status', '=', 'approved')
    .where('payment_id', '=', paymentId)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
