import type { Kysely } from 'kysely';

/**
 * Leases shared by the card402 instances on one database (issue #18): a payment being worked on
 * (`payment:<id>`), a channel account sending (`channel:<address>`), an auth-failure window
 * (`auth_failures`). A lease names its holder (one id per process) and expires: an instance that
 * dies loses its leases when they run out, and every take bumps `generation`, so a holder can tell
 * whether anyone else held the thing in between.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('instance_leases')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('holder', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addColumn('generation', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('instance_leases_holder_idx').on('instance_leases').columns(['holder', 'expires_at']).execute();

  // Failed wallet authentications per key (client IP or claimed wallet) in fixed windows, counted
  // across instances.
  await db.schema
    .createTable('auth_failures')
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('window_start', 'integer', (col) => col.notNull())
    .addColumn('failures', 'integer', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('auth_failures_window_idx').on('auth_failures').column('window_start').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('auth_failures').execute();
  await db.schema.dropTable('instance_leases').execute();
}
