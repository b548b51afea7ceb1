import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * Closing a card (issue #13): the card status `closed`, and `card_closures`, one row per closed
 * card with the refund of its available balance to the owner, recorded in the transaction that
 * closes the card, before anything is sent (docs/ARCHITECTURE.md, "Closing a card").
 *
 * SQLite cannot change the status CHECK in place, so `cards` is rebuilt: same columns, rows,
 * indexes. Other tables (card_ledger_entries, payments and others) reference cards.id by name. As
 * SQLite's own procedure for table changes says: foreign keys off (outside the transaction: the
 * pragma is a no-op inside one; kysely runs SQLite migrations without one, on its one connection),
 * then in one transaction: create, copy, drop the old table, rename the new one to `cards` (the
 * references now resolve to it), recreate the indexes, and `foreign_key_check` before commit; then
 * foreign keys back on. PostgreSQL changes the CHECK in place.
 */
const STATUSES = sql`status in ('active', 'frozen', 'closed')`;

async function rebuildCardsSqlite(db: Kysely<any>): Promise<void> {
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await db.transaction().execute(rebuildCards);
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

async function rebuildCards(trx: Kysely<any>): Promise<void> {
  await trx.schema
    .createTable('cards_rebuilt')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agent_address', 'text', (col) => col.notNull())
    .addColumn('owner_address', 'text', (col) => col.notNull())
    .addColumn('name_on_card', 'text', (col) => col.notNull())
    .addColumn('email', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(STATUSES))
    .addColumn('details_revoked', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_four', 'text', (col) => col.notNull())
    .addColumn('details_ciphertext', 'blob', (col) => col.notNull())
    .addColumn('provider_ref', 'text', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await sql`insert into cards_rebuilt (id, agent_address, owner_address, name_on_card, email, status, details_revoked,
      last_four, details_ciphertext, provider_ref, created_at, updated_at)
    select id, agent_address, owner_address, name_on_card, email, status, details_revoked,
      last_four, details_ciphertext, provider_ref, created_at, updated_at
    from cards`.execute(trx);
  await trx.schema.dropTable('cards').execute();
  await trx.schema.alterTable('cards_rebuilt').renameTo('cards').execute();
  await trx.schema.createIndex('cards_agent_idx').on('cards').columns(['agent_address', 'created_at']).execute();
  await trx.schema.createIndex('cards_owner_idx').on('cards').columns(['owner_address', 'created_at']).execute();
  const broken = await sql<{ table: string }>`pragma foreign_key_check`.execute(trx);
  if (broken.rows.length > 0) throw new Error(`rebuilding cards broke ${broken.rows.length} foreign key(s)`);
}

export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    await rebuildCardsSqlite(db);
  } else {
    await sql`alter table cards drop constraint if exists cards_status_check`.execute(db);
    await sql`alter table cards add constraint cards_status_check check (${STATUSES})`.execute(db);
  }

  await db.schema
    .createTable('card_closures')
    .addColumn('card_id', 'text', (col) => col.primaryKey().references('cards.id'))
    // Who gets the balance back: the card's owner when it was closed.
    .addColumn('refund_to', 'text', (col) => col.notNull())
    .addColumn('amount_cents', 'integer', (col) => col.notNull().check(sql`amount_cents >= 0`))
    .addColumn('amount_atomic', 'text', (col) => col.notNull())
    // none: nothing to send (zero balance); refunding: owed, recorded before sending; refunded: landed.
    .addColumn('refund_status', 'text', (col) => col.notNull().check(sql`refund_status in ('none', 'refunding', 'refunded')`))
    .addColumn('refund_tx_hash', 'text')
    .addColumn('refund_envelope_xdr', 'text')
    .addColumn('closed_by', 'text', (col) => col.notNull())
    .addColumn('closed_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_closures_status_idx').on('card_closures').columns(['refund_status', 'closed_at']).execute();
}

export async function down(): Promise<void> {
  throw new Error('2026-11-30-21-card-closures cannot be undone: closed cards would violate the old CHECK');
}
