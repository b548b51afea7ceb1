import type { Kysely, Transaction } from 'kysely';
import type { Database, WebhookDeliveryRow, WebhookEndpointRow } from '../db/schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

export async function insertEndpoint(db: Executor, row: WebhookEndpointRow): Promise<void> {
  await db.insertInto('webhook_endpoints').values(row).execute();
}

export async function listEndpoints(db: Executor, wallet: string): Promise<WebhookEndpointRow[]> {
  return db.selectFrom('webhook_endpoints').selectAll().where('wallet_address', '=', wallet).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
}

export async function countEndpoints(db: Executor, wallet: string): Promise<number> {
  const row = await db.selectFrom('webhook_endpoints').select((eb) => eb.fn.countAll<number>().as('n')).where('wallet_address', '=', wallet).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function findEndpoint(db: Executor, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Deletes the endpoint with its deliveries and their attempts (the events stay: other endpoints may have them). */
export async function deleteEndpoint(db: Executor, id: string): Promise<void> {
  const deliveries = db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', id);
  await db.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
  await db.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
  await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
}

export interface DueDelivery {
  delivery: WebhookDeliveryRow;
  url: string;
  event: { id: string; type: string; data: string; created_at: number };
}

/** Pending deliveries due now whose lease (if any) has run out, oldest first. */
export async function dueDeliveries(db: Executor, nowMs: number, limit: number): Promise<DueDelivery[]> {
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
    .selectAll('d')
    .select(['e.url as url', 'v.type as event_type', 'v.data as event_data', 'v.created_at as event_created_at'])
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', nowMs)
    .where('d.locked_until', '<=', nowMs)
    .orderBy('d.next_attempt_at', 'asc')
    .limit(limit)
    .execute();
  return rows.map(({ url, event_type, event_data, event_created_at, ...delivery }) => ({
    delivery,
    url,
    event: { id: delivery.event_id, type: event_type, data: event_data, created_at: event_created_at },
  }));
}

/** Takes a delivery for one attempt (compare-and-set on the lease it was read with). */
export async function claimDelivery(db: Executor, d: WebhookDeliveryRow, leaseToken: string, lockedUntil: number): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ lease_token: leaseToken, locked_until: lockedUntil, attempts: d.attempts + 1 })
    .where('id', '=', d.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', d.attempts)
    .where('locked_until', '=', d.locked_until)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Records an attempt's result, only while the worker still holds the lease (a stale worker changes nothing). */
export async function finishAttempt(
  db: Executor,
  args: { deliveryId: string; leaseToken: string; attempt: number; startedAt: number; statusCode: number | null; error: string | null; attemptId: string; next: { status: 'delivered' | 'failed' | 'pending'; nextAttemptAt: number; nowMs: number } },
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({
      status: args.next.status,
      next_attempt_at: args.next.nextAttemptAt,
      lease_token: null,
      locked_until: 0,
      last_status_code: args.statusCode,
      last_error: args.error,
      ...(args.next.status === 'delivered' ? { delivered_at: args.next.nowMs } : {}),
    })
    .where('id', '=', args.deliveryId)
    .where('lease_token', '=', args.leaseToken)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) return false;
  await db
    .insertInto('webhook_attempts')
    .values({ id: args.attemptId, delivery_id: args.deliveryId, attempt: args.attempt, started_at: args.startedAt, status_code: args.statusCode, error: args.error })
    .execute();
  return true;
}

export async function listDeliveries(db: Executor, endpointId: string, opts: { limit: number; before?: number }) {
  let query = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
    .selectAll('d')
    .select('v.type as event_type')
    .where('d.endpoint_id', '=', endpointId);
  if (opts.before !== undefined) query = query.where('d.created_at', '<', opts.before);
  const deliveries = await query.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(opts.limit).execute();
  const attempts =
    deliveries.length === 0
      ? []
      : await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveries.map((d) => d.id)).orderBy('attempt', 'asc').execute();
  return deliveries.map((d) => ({ ...d, attemptRows: attempts.filter((a) => a.delivery_id === d.id) }));
}

/**
 * Deletes the history of events older than `cutoffMs` that owe nothing any more (no pending
 * delivery): their attempts, deliveries and the events themselves, at most `limit` events per call
 * (returns how many went). Pending deliveries are never touched, whatever their age.
 */
export async function pruneWebhookEventsBefore(db: Kysely<Database>, cutoffMs: number, limit = 500): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const old = await trx
      .selectFrom('webhook_events as e')
      .select('e.id')
      .where('e.created_at', '<', cutoffMs)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'e.id').where('d.status', '=', 'pending'))))
      .orderBy('e.created_at', 'asc')
      .limit(limit)
      .execute();
    if (old.length === 0) return 0;
    const ids = old.map((e) => e.id);
    const deliveries = trx.selectFrom('webhook_deliveries').select('id').where('event_id', 'in', ids);
    await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
    await trx.deleteFrom('webhook_deliveries').where('event_id', 'in', ids).execute();
    await trx.deleteFrom('webhook_events').where('id', 'in', ids).execute();
    return ids.length;
  });
}
