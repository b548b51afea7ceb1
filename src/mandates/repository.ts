import type { Executor } from '../cards/repository.js';
import type { MandatePhase, MandateRow, PaymentStatus } from '../db/schema.js';
import { assertMandateTransition } from './state.js';

export async function insertMandate(db: Executor, row: MandateRow): Promise<void> {
  await db.insertInto('mandates').values(row).execute();
}

export async function findMandate(db: Executor, id: string): Promise<MandateRow | undefined> {
  return db.selectFrom('mandates').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Compare-and-set on the phase: moves the mandate from one of `from` to `update.phase` (or updates it
 * in place without one). False when it is no longer in `from`. Edges not in MANDATE_TRANSITIONS throw.
 */
export async function transitionMandate(
  db: Executor,
  id: string,
  from: readonly MandatePhase[],
  update: Partial<Omit<MandateRow, 'id'>> & { updated_at: number },
): Promise<boolean> {
  for (const phase of from) assertMandateTransition(phase, update.phase ?? phase);
  const result = await db.updateTable('mandates').set(update).where('id', '=', id).where('phase', 'in', [...from]).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** What a purchase within a mandate weighs: its price, when it was made and where it stands. */
export interface MandatePurchase {
  id: string;
  status: PaymentStatus;
  totalCents: number;
  amountAtomic: bigint;
  createdAt: number;
}

export async function listMandatePurchases(db: Executor, mandateId: string): Promise<MandatePurchase[]> {
  const rows = await db
    .selectFrom('payments')
    .select(['id', 'status', 'total_cents', 'amount_atomic', 'created_at'])
    .where('mandate_id', '=', mandateId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, status: r.status, totalCents: r.total_cents, amountAtomic: BigInt(r.amount_atomic), createdAt: r.created_at }));
}
