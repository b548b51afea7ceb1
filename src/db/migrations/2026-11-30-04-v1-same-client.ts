import type { Kysely } from 'kysely';

/**
 * A v1 wallet signature may be presented again by the client that first presented it, within a
 * second, and read details once at most (README, "Signing a request"). Rows written before this
 * have no client: their signatures are never accepted again on a single-use route.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('wallet_auth_replays').addColumn('client_ip', 'text').execute();
  await db.schema.alterTable('wallet_auth_replays').addColumn('details_reads', 'integer', (col) => col.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('wallet_auth_replays').dropColumn('details_reads').execute();
  await db.schema.alterTable('wallet_auth_replays').dropColumn('client_ip').execute();
}
