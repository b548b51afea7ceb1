import type { Kysely } from 'kysely';
import type { Executor } from '../cards/repository.js';
import { isUniqueViolation } from '../db/errors.js';
import { reusableByShape, reusableQuery } from '../db/reusable-query.js';
import type { Database, NewPaymentRow, PaymentRow, PaymentStatus, PaymentUpdate } from '../db/schema.js';
import { assertInitial, assertTransition } from './state.js';

// The queries of every paid request are compiled once per shape (see reusableQuery): kysely
// rebuilding them was ~1 ms of server CPU per paid card.
type Row = Record<string, unknown>;
const definedColumns = (row: object) => Object.keys(row).filter((k) => (row as Row)[k] !== undefined);

const insertPaymentQuery = reusableByShape<Database, unknown>(16, (db, shape, args) =>
  db.insertInto('payments').values(Object.fromEntries(shape.split(',').map((column, i) => [column, args[i]])) as NewPaymentRow),
);
const paymentById = reusableQuery(1, (db: Kysely<Database>, id: string) => db.selectFrom('payments').selectAll().where('id', '=', id));
const paymentByNonce = reusableQuery(2, (db: Kysely<Database>, payer: string, nonce: string) =>
  db.selectFrom('payments').selectAll().where('payer', '=', payer).where('auth_nonce', '=', nonce),
);
/** shape: `<set columns>|<number of from statuses>`; args: the set values, the id, the from statuses. */
const transitionQuery = reusableByShape<Database, unknown>(64, (db, shape, args) => {
  const [columnList, fromCount] = shape.split('|') as [string, string];
  const columns = columnList.split(',');
  const set = Object.fromEntries(columns.map((column, i) => [column, args[i]])) as PaymentUpdate;
  const id = args[columns.length] as string;
  const from = args.slice(columns.length + 1, columns.length + 1 + Number(fromCount)) as PaymentStatus[];
  return db.updateTable('payments').set(set).where('id', '=', id).where('status', 'in', from);
});

/** Thrown when a payment with the same (payer, nonce) or (payer, kind, idempotency key) exists. */
export class DuplicatePaymentError extends Error {
  override name = 'DuplicatePaymentError';
}

/** What a payment is recorded with when settlement starts; everything it becomes later starts empty. */
export type PaymentStart = Omit<
  PaymentRow,
  'status' | 'settled_ledger' | 'card_id' | 'response_json' | 'last_error' | 'refund_tx_hash' | 'refund_envelope_xdr' | 'fulfil_attempts' | 'created_at' | 'updated_at' | 'fate_closed_at'
>;

/** A payment row in `settling` at `nowMs`: one shape for every checkout (x402 and mandates). */
export function settlingPaymentRow(start: PaymentStart, nowMs: number): PaymentRow {
  return {
    ...start,
    status: 'settling',
    settled_ledger: null,
    card_id: null,
    response_json: null,
    last_error: null,
    refund_tx_hash: null,
    refund_envelope_xdr: null,
    fulfil_attempts: 0,
    created_at: nowMs,
    updated_at: nowMs,
    fate_closed_at: null,
  };
}

export async function insertPayment(db: Executor, row: NewPaymentRow): Promise<void> {
  assertInitial(row.status);
  try {
    const columns = definedColumns(row);
    await insertPaymentQuery(db as Kysely<Database>, columns.join(','), columns.map((c) => (row as Row)[c]));
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicatePaymentError('payment already recorded');
    throw err;
  }
}

export async function findPayment(db: Executor, id: string): Promise<PaymentRow | undefined> {
  return (await paymentById(db as Kysely<Database>, id))[0];
}

export async function findPaymentByNonce(db: Executor, payer: string, nonce: string): Promise<PaymentRow | undefined> {
  return (await paymentByNonce(db as Kysely<Database>, payer, nonce))[0];
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
 * Moves a payment from one of `from` to a new state (or updates it in place when `update.status`
 * is absent). Returns false (and changes nothing) when the payment is no longer in one of those
 * states: transitions are compare-and-set, so two workers can never both act on one payment. An
 * edge the lifecycle does not list (state.ts) throws IllegalTransitionError before anything is written.
 */
export async function transitionPayment(
  db: Executor,
  id: string,
  from: readonly PaymentStatus[],
  update: PaymentUpdate & { status?: PaymentStatus; updated_at: number },
): Promise<boolean> {
  if (from.length === 0) return false; // `status in ()`: nothing can match
  for (const status of from) assertTransition(status, update.status ?? status);
  const columns = definedColumns(update);
  const result = await transitionQuery(db as Kysely<Database>, `${columns.join(',')}|${from.length}`, [...columns.map((c) => (update as Row)[c]), id, ...from]);
  return result.numAffectedRows === 1n;
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

/** Failed payments whose verdict is not final yet: their transfer may still turn up (see sweepFailed). */
export async function listFailedUnderWatch(db: Executor, limit = 500): Promise<PaymentRow[]> {
  return db
    .selectFrom('payments')
    .selectAll()
    .where('status', '=', 'failed')
    .where('fate_closed_at', 'is', null)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** How many payments are in each of `statuses` (for /health). */
/** How many payments there are of each kind in each status (the metrics gauge, read at scrape time). */
export async function countPaymentsByKindAndStatus(db: Executor): Promise<Array<{ kind: string; status: string; count: number }>> {
  const rows = await db
    .selectFrom('payments')
    .select((eb) => ['kind', 'status', eb.fn.countAll<number>().as('n')])
    .groupBy(['kind', 'status'])
    .execute();
  return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.n) }));
}

export async function countPaymentsInStatus(db: Executor, statuses: readonly PaymentStatus[]): Promise<number> {
  const row = await db.selectFrom('payments').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', [...statuses]).executeTakeFirst();
  return Number(row?.n ?? 0);
}
