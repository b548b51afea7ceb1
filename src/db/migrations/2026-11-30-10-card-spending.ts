import { sql, type Kysely } from 'kysely';

/**
 * Cards that spend (issue #13), in tables of their own (the cards table is left as it is):
 *
 * - card_network_index: how a card network finds a card without decrypting any card data. The card
 *   number is stored only as an HMAC under a key derived from the card data key; the expiry and CVV
 *   only inside a second HMAC that a presented set must match. provider_ref lets a real issuer name
 *   the card by its own id.
 * - card_controls: spend controls (limits, categories, merchants, expiry) and which role locked the card.
 * - card_authorizations: one row per authorization (approved or declined) with its current state:
 *   what is held, captured and refunded. Window spends for limits are summed from here.
 * - card_spend_entries: the append-only record of every authorization event. Each row says how it
 *   moved the card's available balance and its held amount; with card_ledger_entries (loads and
 *   top-ups) they give: available = loads − holds − captures + refunds + reversals.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('card_network_index')
    .addColumn('card_id', 'text', (col) => col.primaryKey().references('cards.id'))
    .addColumn('number_hmac', 'text', (col) => col.notNull().unique())
    .addColumn('verification_hmac', 'text', (col) => col.notNull())
    .addColumn('provider_ref', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('card_controls')
    .addColumn('card_id', 'text', (col) => col.primaryKey().references('cards.id'))
    // JSON text: [{"amountCents": 5000, "frequency": "per24HourPeriod"}, ...]
    .addColumn('limits_json', 'text', (col) => col.notNull().defaultTo('[]'))
    .addColumn('allowed_categories_json', 'text', (col) => col.notNull().defaultTo('[]'))
    .addColumn('blocked_categories_json', 'text', (col) => col.notNull().defaultTo('[]'))
    .addColumn('allowed_merchants_json', 'text', (col) => col.notNull().defaultTo('[]'))
    .addColumn('expires_at', 'integer')
    // 'holder' | 'owner' while the card is locked by that role; null otherwise.
    .addColumn('locked_by', 'text', (col) => col.check(sql`locked_by in ('holder', 'owner')`))
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('card_authorizations')
    .addColumn('id', 'text', (col) => col.primaryKey())
    // Null only for a decline of card data that matched no card (card_invalid).
    .addColumn('card_id', 'text', (col) => col.references('cards.id'))
    .addColumn('source', 'text', (col) => col.notNull().check(sql`source in ('sandbox', 'issuer')`))
    // The issuer's own id for this authorization (its retries get the first answer); null for the sandbox.
    .addColumn('issuer_ref', 'text', (col) => col.unique())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('declined', 'pending', 'captured', 'reversed', 'expired')`))
    .addColumn('decline_reason', 'text')
    .addColumn('decline_detail', 'text')
    .addColumn('amount_cents', 'integer', (col) => col.notNull().check(sql`amount_cents > 0`))
    .addColumn('currency', 'text', (col) => col.notNull())
    .addColumn('held_cents', 'integer', (col) => col.notNull().check(sql`held_cents >= 0`))
    .addColumn('captured_cents', 'integer', (col) => col.notNull().check(sql`captured_cents >= 0`))
    .addColumn('refunded_cents', 'integer', (col) => col.notNull().check(sql`refunded_cents >= 0 and refunded_cents <= captured_cents`))
    .addColumn('merchant_name', 'text', (col) => col.notNull())
    .addColumn('merchant_mcc', 'text', (col) => col.notNull())
    .addColumn('merchant_country', 'text', (col) => col.notNull())
    .addColumn('merchant_url', 'text')
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_authorizations_card_time_idx').on('card_authorizations').columns(['card_id', 'created_at']).execute();
  await db.schema.createIndex('card_authorizations_pending_idx').on('card_authorizations').columns(['status', 'expires_at']).execute();

  await db.schema
    .createTable('card_spend_entries')
    .addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('id', 'text', (col) => col.notNull().unique())
    .addColumn('card_id', 'text', (col) => col.notNull().references('cards.id'))
    .addColumn('authorization_id', 'text', (col) => col.notNull().references('card_authorizations.id'))
    .addColumn('kind', 'text', (col) =>
      col.notNull().check(sql`kind in ('authorization', 'decline', 'capture', 'reversal', 'expiry', 'refund')`),
    )
    // The amount the event is about (positive): held, captured, released or refunded.
    .addColumn('amount_cents', 'integer', (col) => col.notNull().check(sql`amount_cents >= 0`))
    .addColumn('available_delta_cents', 'integer', (col) => col.notNull())
    .addColumn('held_delta_cents', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('card_spend_entries_card_idx').on('card_spend_entries').columns(['card_id', 'created_at', 'seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('card_spend_entries').execute();
  await db.schema.dropTable('card_authorizations').execute();
  await db.schema.dropTable('card_controls').execute();
  await db.schema.dropTable('card_network_index').execute();
}
