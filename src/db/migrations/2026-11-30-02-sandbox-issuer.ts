import { sql, type Kysely } from 'kysely';

/**
 * The sandbox issuer's own records, kept as a card provider keeps them: every card it issued and
 * every load, keyed by our payment id (so a retried issue after a crash returns the same card),
 * and the running total it has loaded (its capacity), so neither resets on restart.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sandbox_issuer_operations')
    .addColumn('request_key', 'text', (col) => col.primaryKey())
    .addColumn('operation', 'text', (col) => col.notNull().check(sql`operation in ('issue', 'fund')`))
    .addColumn('provider_ref', 'text', (col) => col.notNull())
    .addColumn('amount_cents', 'integer', (col) => col.notNull().check(sql`amount_cents >= 0`))
    // The issued card's data, AES-256-GCM as in cards.details_ciphertext; null for a load.
    .addColumn('details_ciphertext', 'blob')
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('sandbox_issuer_usage')
    .addColumn('id', 'integer', (col) => col.primaryKey().check(sql`id = 1`))
    .addColumn('used_cents', 'integer', (col) => col.notNull().check(sql`used_cents >= 0`))
    .execute();
  await db.insertInto('sandbox_issuer_usage').values({ id: 1, used_cents: 0 }).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sandbox_issuer_usage').execute();
  await db.schema.dropTable('sandbox_issuer_operations').execute();
}
