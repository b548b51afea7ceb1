import { sql, type Kysely } from 'kysely';

/**
 * Payments whose fate the ledger can no longer tell (status `needs_review`), and the moment a
 * `failed` payment's verdict became final (`fate_closed_at`): until then the reconciler keeps
 * looking for its transfer, because the payer's signed entry may still be submitted by someone
 * else (docs/ARCHITECTURE.md, "What proves a payment").
 *
 * The kind CHECK goes: the paid products registered in code (src/payments/products) say which
 * kinds exist, so adding a product needs no migration of this table.
 *
 * SQLite cannot change a CHECK constraint in place, so the table is rebuilt (nothing references
 * payments by foreign key). Failed payments older than a day were watched by the previous rule
 * while their authorisation was live; their verdict is taken as final rather than sent to review.
 */
const STATUSES = sql`status in ('verified', 'settling', 'settled', 'fulfilled', 'paid_unfulfilled', 'refunding', 'refunded', 'failed', 'needs_review')`;
const DAY_MS = 24 * 3600 * 1000;

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payments_rebuilt')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // Any product's kind: the registry of paid products (src/payments/products) is the list, so a new
    // product needs no table change.
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('payer', 'text', (col) => col.notNull())
    .addColumn('auth_nonce', 'text', (col) => col.notNull())
    .addColumn('auth_expiration_ledger', 'integer', (col) => col.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('request_fingerprint', 'text', (col) => col.notNull())
    .addColumn('request_json', 'text', (col) => col.notNull())
    .addColumn('network', 'text', (col) => col.notNull())
    .addColumn('asset', 'text', (col) => col.notNull())
    .addColumn('pay_to', 'text', (col) => col.notNull())
    .addColumn('amount_atomic', 'text', (col) => col.notNull())
    .addColumn('load_cents', 'integer', (col) => col.notNull())
    .addColumn('total_cents', 'integer', (col) => col.notNull())
    .addColumn('payment_xdr', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(STATUSES))
    .addColumn('settle_tx_hash', 'text')
    .addColumn('settle_envelope_xdr', 'text')
    .addColumn('settled_ledger', 'integer')
    .addColumn('card_id', 'text', (col) => col.references('cards.id'))
    .addColumn('response_json', 'text')
    .addColumn('fulfil_attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('refund_tx_hash', 'text')
    .addColumn('refund_envelope_xdr', 'text')
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .addColumn('fate_closed_at', 'integer')
    .execute();
  await sql`insert into payments_rebuilt (id, kind, payer, auth_nonce, auth_expiration_ledger, idempotency_key, request_fingerprint,
      request_json, network, asset, pay_to, amount_atomic, load_cents, total_cents, payment_xdr, status, settle_tx_hash,
      settle_envelope_xdr, settled_ledger, card_id, response_json, fulfil_attempts, last_error, refund_tx_hash,
      refund_envelope_xdr, created_at, updated_at, fate_closed_at)
    select id, kind, payer, auth_nonce, auth_expiration_ledger, idempotency_key, request_fingerprint,
      request_json, network, asset, pay_to, amount_atomic, load_cents, total_cents, payment_xdr, status, settle_tx_hash,
      settle_envelope_xdr, settled_ledger, card_id, response_json, fulfil_attempts, last_error, refund_tx_hash,
      refund_envelope_xdr, created_at, updated_at,
      case when status = 'failed' and created_at < ${Date.now() - DAY_MS} then updated_at else null end
    from payments`.execute(db);
  await db.schema.dropTable('payments').execute();
  await db.schema.alterTable('payments_rebuilt').renameTo('payments').execute();
  await db.schema.createIndex('payments_payer_nonce_uq').on('payments').columns(['payer', 'auth_nonce']).unique().execute();
  await db.schema
    .createIndex('payments_idempotency_uq')
    .on('payments')
    .columns(['payer', 'kind', 'idempotency_key'])
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();
  await db.schema.createIndex('payments_status_idx').on('payments').columns(['status', 'updated_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('2026-11-30-01-payment-evidence cannot be undone: needs_review payments would violate the old CHECK');
}
