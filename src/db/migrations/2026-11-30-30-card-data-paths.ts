import { sql, type Kysely } from 'kysely';

/**
 * Card data by more than one path (issue #14): card sessions with scoped redeem tokens, their
 * redemptions, secrets sessions; and the details access audit gains the path each attempt took and
 * the outcomes of the new guards (a card that is not active, a session that cannot be used).
 *
 * SQLite cannot change a CHECK constraint in place, so card_details_access is rebuilt: a new table,
 * the rows copied (path 'details': every earlier attempt was a details read), the old one dropped,
 * the new one renamed and its indexes made again under the same names.
 */
const OUTCOMES = sql`('granted', 'not_authorized', 'revoked', 'invalid_nonce', 'replayed', 'rate_limited', 'error', 'card_inactive', 'session_unusable')`;
const OLD_OUTCOMES = sql`('granted', 'not_authorized', 'revoked', 'invalid_nonce', 'replayed', 'rate_limited', 'error')`;

async function rebuildAudit(db: Kysely<any>, withPath: boolean): Promise<void> {
  await db.schema
    .createTable('card_details_access_next')
    .addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('id', 'text', (col) => col.notNull().unique())
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('wallet_address', 'text', (col) => col.notNull())
    .addColumn('ip', 'text', (col) => col.notNull())
    .addColumn('user_agent', 'text', (col) => col.notNull())
    .addColumn('outcome', 'text', (col) => col.notNull().check(sql`outcome in ${withPath ? OUTCOMES : OLD_OUTCOMES}`))
    .$call((t) => (withPath ? t.addColumn('path', 'text', (col) => col.notNull().defaultTo('details').check(sql`path in ('details', 'redeem', 'secrets')`)) : t))
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  const columns = ['seq', 'id', 'card_id', 'wallet_address', 'ip', 'user_agent', 'outcome', 'created_at'] as const;
  let rows = db.selectFrom('card_details_access').select([...columns]);
  // Going down, attempts by the new paths or with the new outcomes have no place in the old table.
  if (!withPath) rows = rows.where('path', '=', 'details').where('outcome', 'in', ['granted', 'not_authorized', 'revoked', 'invalid_nonce', 'replayed', 'rate_limited', 'error']);
  await db.insertInto('card_details_access_next').columns([...columns]).expression(rows).execute();
  await db.schema.dropTable('card_details_access').execute();
  await db.schema.alterTable('card_details_access_next').renameTo('card_details_access').execute();
  await db.schema.createIndex('card_details_access_card_idx').on('card_details_access').columns(['card_id', 'seq']).execute();
  await db.schema
    .createIndex('card_details_access_wallet_outcome_idx')
    .on('card_details_access')
    .columns(['wallet_address', 'outcome', 'created_at'])
    .execute();
  await db.schema.createIndex('card_details_access_card_outcome_idx').on('card_details_access').columns(['card_id', 'outcome', 'created_at']).execute();
  await db.schema.createIndex('card_details_access_age_idx').on('card_details_access').column('created_at').execute();
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuildAudit(db, true);

  // A card session: a scoped redeem token is handed out once; only its sha256 is kept, and it is
  // wiped when the session is scrubbed.
  await db.schema
    .createTable('card_sessions')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'redeemed', 'expired', 'scrubbed')`))
    .addColumn('max_redeem_count', 'integer', (col) => col.notNull())
    .addColumn('redeem_count', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('token_hash', 'text')
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_sessions_card_idx').on('card_sessions').columns(['card_id', 'created_at']).execute();
  await db.schema.createIndex('card_sessions_status_idx').on('card_sessions').columns(['status', 'expires_at']).execute();

  await db.schema
    .createTable('card_session_redemptions')
    .addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('id', 'text', (col) => col.notNull().unique())
    .addColumn('session_id', 'text', (col) => col.notNull().references('card_sessions.id'))
    .addColumn('ip', 'text', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_session_redemptions_session_idx').on('card_session_redemptions').columns(['session_id', 'seq']).execute();

  // A secrets session: its AES-128 key is kept only encrypted (card data key, session id as
  // associated data), and only until its one use or its expiry.
  await db.schema
    .createTable('secrets_sessions')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('wallet_address', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'used', 'expired', 'scrubbed')`))
    .addColumn('key_ciphertext', 'blob')
    .addColumn('card_id', 'text')
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('secrets_sessions_status_idx').on('secrets_sessions').columns(['status', 'expires_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('secrets_sessions').execute();
  await db.schema.dropTable('card_session_redemptions').execute();
  await db.schema.dropTable('card_sessions').execute();
  await rebuildAudit(db, false);
}
