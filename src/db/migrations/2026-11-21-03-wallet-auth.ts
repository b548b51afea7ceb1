import { sql, type Kysely } from 'kysely';

/** Wallet auth replay protection, spent card-details nonces, and the details access audit. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('wallet_auth_replays')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('wallet_auth_replays_expiry_idx').on('wallet_auth_replays').column('expires_at').execute();

  await db.schema
    .createTable('card_details_nonces')
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('nonce_hash', 'text', (col) => col.notNull())
    .addColumn('wallet_address', 'text', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('card_details_nonces_pk', ['card_id', 'nonce_hash'])
    .execute();
  await db.schema.createIndex('card_details_nonces_window_idx').on('card_details_nonces').columns(['card_id', 'created_at']).execute();
  await db.schema.createIndex('card_details_nonces_age_idx').on('card_details_nonces').column('created_at').execute();

  await db.schema
    .createTable('card_details_access')
    .addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('id', 'text', (col) => col.notNull().unique())
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('wallet_address', 'text', (col) => col.notNull())
    .addColumn('ip', 'text', (col) => col.notNull())
    .addColumn('user_agent', 'text', (col) => col.notNull())
    .addColumn('outcome', 'text', (col) =>
      col.notNull().check(sql`outcome in ('granted', 'not_authorized', 'revoked', 'invalid_nonce', 'replayed', 'rate_limited', 'error')`),
    )
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_details_access_card_idx').on('card_details_access').columns(['card_id', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('card_details_access').execute();
  await db.schema.dropTable('card_details_nonces').execute();
  await db.schema.dropTable('wallet_auth_replays').execute();
}
