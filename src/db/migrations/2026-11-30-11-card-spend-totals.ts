import { sql, type Kysely } from 'kysely';

/**
 * Decisions that do not grow with a card's history (issue #13):
 *
 * - card_spend_totals: the running sums of card_spend_entries per card, written in the transaction
 *   of each entry, so a decision reads one row instead of summing the card's whole history (tested
 *   equal to the sums). Filled here from the entries already written.
 * - indexes: window spends read (card, time) and the amounts from the index alone; a card's due
 *   holds (lazy expiry) are found by (card, status, expiry).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('card_spend_totals')
    .addColumn('card_id', 'text', (col) => col.primaryKey().references('cards.id'))
    .addColumn('available_delta_cents', 'integer', (col) => col.notNull())
    // No CHECK here: an upsert's inserted row (a release: negative) is checked before it is added.
    .addColumn('held_cents', 'integer', (col) => col.notNull())
    .execute();
  await sql`insert into card_spend_totals (card_id, available_delta_cents, held_cents)
    select card_id, sum(available_delta_cents), sum(held_delta_cents) from card_spend_entries group by card_id`.execute(db);

  await db.schema.dropIndex('card_authorizations_card_time_idx').execute();
  await db.schema
    .createIndex('card_authorizations_card_time_idx')
    .on('card_authorizations')
    .columns(['card_id', 'created_at', 'status', 'held_cents', 'captured_cents'])
    .execute();
  await db.schema.createIndex('card_authorizations_card_pending_idx').on('card_authorizations').columns(['card_id', 'status', 'expires_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('card_authorizations_card_pending_idx').execute();
  await db.schema.dropIndex('card_authorizations_card_time_idx').execute();
  await db.schema.createIndex('card_authorizations_card_time_idx').on('card_authorizations').columns(['card_id', 'created_at']).execute();
  await db.schema.dropTable('card_spend_totals').execute();
}
