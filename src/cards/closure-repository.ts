import type { CardClosureRow, CardClosuresTable } from '../db/schema.js';
import type { Insertable } from 'kysely';
import type { Executor } from './repository.js';

export async function insertClosure(db: Executor, closure: Insertable<CardClosuresTable>): Promise<void> {
  await db.insertInto('card_closures').values(closure).execute();
}

export async function findClosure(db: Executor, cardId: string): Promise<CardClosureRow | undefined> {
  return db.selectFrom('card_closures').selectAll().where('card_id', '=', cardId).executeTakeFirst();
}

/** Closed cards whose refund is still owed (recorded, not yet proven landed), oldest first. */
export async function listOwedClosures(db: Executor, limit = 500): Promise<CardClosureRow[]> {
  return db.selectFrom('card_closures').selectAll().where('refund_status', '=', 'refunding').orderBy('closed_at').limit(limit).execute();
}

/**
 * Records a new refund envelope only while the one on record is still `expectedTxHash` (null for
 * none), as payments' replaceRefund: a process that raced us must not overwrite, then resend, another.
 */
export async function replaceClosureRefund(
  db: Executor,
  cardId: string,
  expectedTxHash: string | null,
  refund: { txHash: string; envelopeXdr: string; nowMs: number },
): Promise<boolean> {
  const result = await db
    .updateTable('card_closures')
    .set({ refund_tx_hash: refund.txHash, refund_envelope_xdr: refund.envelopeXdr, updated_at: refund.nowMs })
    .where('card_id', '=', cardId)
    .where('refund_status', '=', 'refunding')
    .where('refund_tx_hash', expectedTxHash === null ? 'is' : '=', expectedTxHash)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** refunding → refunded, for the envelope on record only. */
export async function markClosureRefunded(db: Executor, cardId: string, txHash: string, nowMs: number): Promise<boolean> {
  const result = await db
    .updateTable('card_closures')
    .set({ refund_status: 'refunded', updated_at: nowMs })
    .where('card_id', '=', cardId)
    .where('refund_status', '=', 'refunding')
    .where('refund_tx_hash', '=', txHash)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
