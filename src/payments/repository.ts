import type { Executor } from '../cards/repository.js';
import type { NewPaymentRow, PaymentRow, PaymentStatus, PaymentUpdate } from '../db/schema.js';

/** Thrown when a payment with the same (payer, nonce) or (payer, kind, idempotency key) exists. */
export class DuplicatePaymentError extends Error {
  override name = 'DuplicatePaymentError';
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

export async function insertPayment(db: Executor, row: NewPaymentRow): Promise<void> {
  try {
    await db.insertInto('payments').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicatePaymentError('payment already recorded');
    throw err;
  }
}

export async function findPayment(db: Executor, id: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findPaymentByNonce(db: Executor, payer: string, nonce: string): Promise<PaymentRow | undefined> {
  return db.selectFrom('payments').selectAll().where('payer', '=', payer).where('auth_nonce', '=', nonce).executeTakeFirst();
}

export async function findPaymentByIdempotencyKey(db: Executor, payer: string, kind: string, key: string): Promise<PaymentRow | undefined> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('payer', '=', payer)
    .where('kind', '=', kind as PaymentRow['kind'])
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/**
 * Moves a payment from one of `from` to a new state. Returns false (and changes nothing) when the
 * payment is no longer in one of those states: transitions are compare-and-set, so two workers
 * can never both act on one payment.
 */
export async function transitionPayment(
  db: Executor,
  id: string,
  from: readonly PaymentStatus[],
  update: PaymentUpdate & { status?: PaymentStatus; updated_at: number },
): Promise<boolean> {
  const result = await db.updateTable('payments').set(update).where('id', '=', id).where('status', 'in', [...from]).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function updatePayment(db: Executor, id: string, update: PaymentUpdate & { updated_at: number }): Promise<void> {
  await db.updateTable('payments').set(update).where('id', '=', id).execute();
}

/**
 * Records a new refund transaction only if the refund on record is still `expectedTxHash` (null for
 * none): a second process that raced us to the same payment must not overwrite, and then resend, a
 * different refund.
 */
export async function replaceRefund(
  db: Executor,
  id: string,
  expectedTxHash: string | null,
  refund: { txHash: string; envelopeXdr: string; nowMs: number },
): Promise<boolean> {
  const result = await db
    .updateTable('payments')
    .set({ refund_tx_hash: refund.txHash, refund_envelope_xdr: refund.envelopeXdr, updated_at: refund.nowMs })
    .where('id', '=', id)
    .where('status', '=', 'refunding')
    .where('refund_tx_hash', expectedTxHash === null ? 'is' : '=', expectedTxHash)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function listPaymentsInStatus(db: Executor, statuses: readonly PaymentStatus[], limit = 500): Promise<PaymentRow[]> {
  return db.selectFrom('payments').selectAll().where('status', 'in', [...statuses]).orderBy('created_at').limit(limit).execute();
}

/** Failed payments whose payer authorisation may still be (or just have been) used on the ledger. */
export async function listFailedWithLiveAuth(db: Executor, minExpirationLedger: number, limit = 500): Promise<PaymentRow[]> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('status', '=', 'failed')
    .where('auth_expiration_ledger', '>=', minExpirationLedger)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}
