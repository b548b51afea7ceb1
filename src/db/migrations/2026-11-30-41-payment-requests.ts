import { sql, type Kysely } from 'kysely';

/**
 * Payment requests (issue 16): an agent asks, an owner approves and pays from a link. The approval
 * token is stored only as its SHA-256; the quoted price is fixed here when the request is made,
 * and `payment_id` is claimed in the same write that records the owner's payment, so one request
 * is paid at most once (src/approvals/, docs/ARCHITECTURE.md "Payment requests").
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('payment_requests')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agent_address', 'text', (col) => col.notNull())
    .addColumn('owner_address', 'text')
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('create', 'fund')`))
    .addColumn('load_cents', 'integer', (col) => col.notNull().check(sql`load_cents >= 0`))
    .addColumn('card_fee_cents', 'integer', (col) => col.notNull().check(sql`card_fee_cents >= 0`))
    .addColumn('top_up_fee_cents', 'integer', (col) => col.notNull().check(sql`top_up_fee_cents >= 0`))
    .addColumn('total_cents', 'integer', (col) => col.notNull().check(sql`total_cents > 0`))
    .addColumn('amount_atomic', 'text', (col) => col.notNull())
    .addColumn('body_json', 'text', (col) => col.notNull())
    .addColumn('note', 'text')
    .addColumn('token_hash', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('pending', 'approved', 'completed', 'rejected')`))
    .addColumn('payment_id', 'text')
    .addColumn('approver_address', 'text')
    .addColumn('card_id', 'text')
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('answered_at', 'integer')
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('payment_requests_agent_idx').on('payment_requests').columns(['agent_address', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('payment_requests').execute();
}
