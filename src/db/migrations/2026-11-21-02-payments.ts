import { sql, type Kysely } from 'kysely';

/**
 * Payments are the source of truth for paid requests: one row per verified x402 payment, keyed
 * uniquely by (payer, auth-entry nonce) so the same signed payment can never be settled or
 * fulfilled twice.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('create', 'fund')`))
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
    .addColumn(
      'status',
      'text',
      (col) =>
        col
          .notNull()
          .check(sql`status in ('verified', 'settling', 'settled', 'fulfilled', 'paid_unfulfilled', 'refunding', 'refunded', 'failed')`),
    )
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
    .execute();
  await db.schema.createIndex('payments_payer_nonce_uq').on('payments').columns(['payer', 'auth_nonce']).unique().execute();
  await db.schema
    .createIndex('payments_idempotency_uq')
    .on('payments')
    .columns(['payer', 'kind', 'idempotency_key'])
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();
  await db.schema.createIndex('payments_status_idx').on('payments').columns(['status', 'updated_at']).execute();
  // A card ledger entry belongs to at most one payment: fulfilment can never credit twice.
  await db.schema
    .createIndex('card_ledger_payment_uq')
    .on('card_ledger_entries')
    .column('payment_id')
    .unique()
    .where(sql.ref('payment_id'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('card_ledger_payment_uq').execute();
  await db.schema.dropTable('payments').execute();
}
