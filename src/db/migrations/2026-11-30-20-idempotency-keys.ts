import type { Kysely } from 'kysely';

/**
 * `Idempotency-Key` on wallet-signed and other writes (docs/ARCHITECTURE.md, "Idempotent writes"):
 * one row per (caller scope, method, route, key), kept 24 h. Request bodies are never stored, only
 * a keyed HMAC of them (`fingerprint`); the stored answer is plain text, so the middleware is only
 * applied to writes whose answers hold no card data.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('route', 'text', (col) => col.notNull())
    .addColumn('idem_key', 'text', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    // A random id per claim: only the request that holds the claim stores its answer or releases it.
    .addColumn('claim_id', 'text', (col) => col.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_content_type', 'text')
    .addColumn('response_body', 'text')
    .addColumn('locked_until', 'integer', (col) => col.notNull())
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('expires_at', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'method', 'route', 'idem_key'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expiry_idx').on('idempotency_keys').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
