import type { Kysely } from 'kysely';

/**
 * Mandates (issue 17): an owner's on-chain USDC allowance to card402's mandate account, and the
 * rules an agent buys within. A purchase within a mandate is a payment like any other (payments),
 * charged to the owner (`payer`), with the agent as `holder` and the mandate it spends from.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mandates')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agent_address', 'text', (col) => col.notNull())
    .addColumn('owner_address', 'text', (col) => col.notNull())
    .addColumn('spender_address', 'text', (col) => col.notNull())
    .addColumn('asset', 'text', (col) => col.notNull())
    .addColumn('network', 'text', (col) => col.notNull())
    .addColumn('rules_json', 'text', (col) => col.notNull())
    .addColumn('note', 'text')
    .addColumn('allowance_atomic', 'text', (col) => col.notNull())
    .addColumn('phase', 'text', (col) => col.notNull())
    .addColumn('end_reason', 'text')
    .addColumn('live_until_ledger', 'integer')
    .addColumn('approve_tx_hash', 'text')
    .addColumn('approve_envelope_xdr', 'text')
    .addColumn('approved_at', 'integer')
    .addColumn('revoke_tx_hash', 'text')
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('updated_at', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('mandates_agent').on('mandates').columns(['agent_address', 'created_at']).execute();
  await db.schema.createIndex('mandates_owner').on('mandates').columns(['owner_address', 'created_at']).execute();
  await db.schema.alterTable('payments').addColumn('mandate_id', 'text').execute();
  await db.schema.alterTable('payments').addColumn('holder', 'text').execute();
  await db.schema.createIndex('payments_mandate').on('payments').columns(['mandate_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('payments_mandate').execute();
  await db.schema.alterTable('payments').dropColumn('holder').execute();
  await db.schema.alterTable('payments').dropColumn('mandate_id').execute();
  await db.schema.dropTable('mandates').execute();
}
