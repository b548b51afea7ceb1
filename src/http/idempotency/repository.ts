import type { Kysely, Transaction } from 'kysely';
import type { Database, IdempotencyKeyRow } from '../../db/schema.js';

export type Executor = Kysely<Database> | Transaction<Database>;

/** Which stored key a request names: its caller, method, route pattern and the key itself. */
export interface IdempotencyKeyId {
  scope: string;
  method: string;
  route: string;
  key: string;
}

export interface Claim {
  claimId: string;
  fingerprint: string;
  nowMs: number;
  lockedUntilMs: number;
  expiresAtMs: number;
}

export interface StoredAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

const byId = (id: IdempotencyKeyId) =>
  ({ scope: id.scope, method: id.method, route: id.route, idem_key: id.key }) as const;

/** Claims a key no one holds: true when this request now runs under it (insert, nothing on conflict). */
export async function claimNewKey(db: Executor, id: IdempotencyKeyId, claim: Claim): Promise<boolean> {
  const result = await db
    .insertInto('idempotency_keys')
    .values({
      ...byId(id),
      fingerprint: claim.fingerprint,
      state: 'running',
      claim_id: claim.claimId,
      response_status: null,
      response_content_type: null,
      response_body: null,
      locked_until: claim.lockedUntilMs,
      created_at: claim.nowMs,
      expires_at: claim.expiresAtMs,
    })
    .onConflict((oc) => oc.columns(['scope', 'method', 'route', 'idem_key']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function findKey(db: Executor, id: IdempotencyKeyId): Promise<IdempotencyKeyRow | undefined> {
  const { scope, method, route, idem_key } = byId(id);
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('scope', '=', scope)
    .where('method', '=', method)
    .where('route', '=', route)
    .where('idem_key', '=', idem_key)
    .executeTakeFirst();
}

/**
 * Takes over a key that expired, or whose running claim outlived its lease (the process that held
 * it died): compare-and-set on the row as it was read, so of two requests only one wins.
 */
export async function takeOverKey(db: Executor, id: IdempotencyKeyId, seen: IdempotencyKeyRow, claim: Claim): Promise<boolean> {
  const { scope, method, route, idem_key } = byId(id);
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      fingerprint: claim.fingerprint,
      state: 'running',
      claim_id: claim.claimId,
      response_status: null,
      response_content_type: null,
      response_body: null,
      locked_until: claim.lockedUntilMs,
      created_at: claim.nowMs,
      expires_at: claim.expiresAtMs,
    })
    .where('scope', '=', scope)
    .where('method', '=', method)
    .where('route', '=', route)
    .where('idem_key', '=', idem_key)
    .where('claim_id', '=', seen.claim_id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Stores the first answer under the claim this request holds. */
export async function storeAnswer(db: Executor, id: IdempotencyKeyId, claim: Claim, answer: StoredAnswer): Promise<void> {
  const { scope, method, route, idem_key } = byId(id);
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: answer.status, response_content_type: answer.contentType, response_body: answer.body })
    .where('scope', '=', scope)
    .where('method', '=', method)
    .where('route', '=', route)
    .where('idem_key', '=', idem_key)
    .where('state', '=', 'running')
    .where('claim_id', '=', claim.claimId)
    .execute();
}

/** Gives the key back (the request ended with no answer worth repeating): the next request with it runs. */
export async function releaseKey(db: Executor, id: IdempotencyKeyId, claim: Claim): Promise<void> {
  const { scope, method, route, idem_key } = byId(id);
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('method', '=', method)
    .where('route', '=', route)
    .where('idem_key', '=', idem_key)
    .where('state', '=', 'running')
    .where('claim_id', '=', claim.claimId)
    .execute();
}

/** Deletes keys past their expiry; returns how many went. */
export async function pruneExpiredKeys(db: Executor, nowMs: number): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', nowMs).executeTakeFirst();
  return Number(result.numDeletedRows);
}
