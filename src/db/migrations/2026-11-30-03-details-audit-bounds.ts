import type { Kysely } from 'kysely';

/**
 * Bounds on the details access audit (issue #11): indexes to count a wallet's and a card's recent
 * `not_authorized` rows (the itemized refusals are capped per hour) and to prune rows past
 * retention by age; and one counter row per card and hour for the refusals beyond the cap.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('card_details_access_wallet_outcome_idx')
    .on('card_details_access')
    .columns(['wallet_address', 'outcome', 'created_at'])
    .execute();
  await db.schema.createIndex('card_details_access_card_outcome_idx').on('card_details_access').columns(['card_id', 'outcome', 'created_at']).execute();
  await db.schema.createIndex('card_details_access_age_idx').on('card_details_access').column('created_at').execute();

  await db.schema
    .createTable('card_details_refusals')
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('hour_start', 'integer', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull())
    .addColumn('first_at', 'integer', (col) => col.notNull())
    .addColumn('last_at', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('card_details_refusals_pk', ['card_id', 'hour_start'])
    .execute();
  await db.schema.createIndex('card_details_refusals_age_idx').on('card_details_refusals').column('last_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('card_details_refusals').execute();
  await db.schema.dropIndex('card_details_access_age_idx').execute();
  await db.schema.dropIndex('card_details_access_card_outcome_idx').execute();
  await db.schema.dropIndex('card_details_access_wallet_outcome_idx').execute();
}
