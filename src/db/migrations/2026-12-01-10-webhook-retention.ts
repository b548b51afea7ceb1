import type { Kysely } from 'kysely';

/** Webhook history retention (src/webhooks/retention.ts) finds old events by creation time. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('webhook_events_created_idx').on('webhook_events').column('created_at').execute();
  await db.schema.createIndex('webhook_deliveries_event_idx').on('webhook_deliveries').column('event_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('webhook_deliveries_event_idx').execute();
  await db.schema.dropIndex('webhook_events_created_idx').execute();
}
