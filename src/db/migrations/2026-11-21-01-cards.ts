import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('cards')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agent_address', 'text', (col) => col.notNull())
    .addColumn('owner_address', 'text', (col) => col.notNull())
    .addColumn('name_on_card', 'text', (col) => col.notNull())
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'frozen')`))
    .addColumn('details_revoked', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_four', 'text', (col) => col.notNull())
    .addColumn('details_ciphertext', 'blob', (col) => col.notNull())
    .addColumn('provider_ref', 'text', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('cards_agent_idx').on('cards').columns(['agent_address', 'created_at']).execute();
  await db.schema.createIndex('cards_owner_idx').on('cards').columns(['owner_address', 'created_at']).execute();

  await db.schema
    .createTable('card_ledger_entries')
    .addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('id', 'text', (col) => col.notNull().unique())
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('amount_cents', 'integer', (col) => col.notNull())
    .addColumn('payment_id', 'text')
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_ledger_card_idx').on('card_ledger_entries').columns(['card_id', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('card_ledger_entries').execute();
  await db.schema.dropTable('cards').execute();
}
