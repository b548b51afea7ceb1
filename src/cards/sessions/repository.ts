import { randomUUID } from 'node:crypto';
import type { CardSessionRedemptionRow, CardSessionRow, CardSessionStatus, SecretsSessionRow, SecretsSessionStatus } from '../../db/schema.js';
import type { Executor } from '../repository.js';
import { assertCardSessionTransition, assertSecretsSessionTransition } from './state.js';

/** Card sessions, their redemptions, and secrets sessions. Plain functions over a db or transaction. */

export async function insertCardSession(
  db: Executor,
  row: { id: string; cardId: string; createdBy: string; maxRedeemCount: number; tokenHash: string; expiresAtMs: number; nowMs: number },
): Promise<void> {
  await db
    .insertInto('card_sessions')
    .values({
      id: row.id,
      card_id: row.cardId,
      created_by: row.createdBy,
      status: 'active',
      max_redeem_count: row.maxRedeemCount,
      redeem_count: 0,
      token_hash: row.tokenHash,
      expires_at: row.expiresAtMs,
      created_at: row.nowMs,
      updated_at: row.nowMs,
    })
    .execute();
}

export async function findCardSession(db: Executor, id: string): Promise<CardSessionRow | undefined> {
  return db.selectFrom('card_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Compare-and-set on status (and on the redeem count, for a redemption): true when this call made
 * the change. Refuses edges the lifecycle does not list (state.ts).
 */
export async function transitionCardSession(
  db: Executor,
  id: string,
  change: { from: CardSessionStatus; to: CardSessionStatus; redeemCountWas?: number; redeemCount?: number; wipeToken?: boolean; nowMs: number },
): Promise<boolean> {
  assertCardSessionTransition(change.from, change.to);
  let query = db
    .updateTable('card_sessions')
    .set({
      status: change.to,
      updated_at: change.nowMs,
      ...(change.redeemCount !== undefined ? { redeem_count: change.redeemCount } : {}),
      ...(change.wipeToken ? { token_hash: null } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', change.from);
  if (change.redeemCountWas !== undefined) query = query.where('redeem_count', '=', change.redeemCountWas);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function recordRedemption(db: Executor, row: { sessionId: string; ip: string; nowMs: number }): Promise<void> {
  await db.insertInto('card_session_redemptions').values({ id: randomUUID(), session_id: row.sessionId, ip: row.ip.slice(0, 64), created_at: row.nowMs }).execute();
}

/** Redemptions oldest first (at most a session's maxRedeemCount, 10). */
export async function listRedemptions(db: Executor, sessionId: string): Promise<CardSessionRedemptionRow[]> {
  return db.selectFrom('card_session_redemptions').selectAll().where('session_id', '=', sessionId).orderBy('seq').execute();
}

/** Active sessions whose TTL has run out (by the injected clock). */
export async function listExpiredActiveCardSessions(db: Executor, nowMs: number, limit: number): Promise<Pick<CardSessionRow, 'id'>[]> {
  return db.selectFrom('card_sessions').select('id').where('status', '=', 'active').where('expires_at', '<=', nowMs).limit(limit).execute();
}

/** Finished sessions (redeemed or expired) not scrubbed yet. */
export async function listFinishedCardSessions(db: Executor, limit: number): Promise<Pick<CardSessionRow, 'id' | 'status'>[]> {
  return db.selectFrom('card_sessions').select(['id', 'status']).where('status', 'in', ['redeemed', 'expired']).limit(limit).execute();
}

// --- secrets sessions ---

export async function insertSecretsSession(
  db: Executor,
  row: { id: string; wallet: string; keyCiphertext: Buffer; expiresAtMs: number; nowMs: number },
): Promise<void> {
  await db
    .insertInto('secrets_sessions')
    .values({
      id: row.id,
      wallet_address: row.wallet,
      status: 'active',
      key_ciphertext: row.keyCiphertext,
      card_id: null,
      expires_at: row.expiresAtMs,
      created_at: row.nowMs,
      updated_at: row.nowMs,
    })
    .execute();
}

export async function findSecretsSession(db: Executor, id: string): Promise<SecretsSessionRow | undefined> {
  return db.selectFrom('secrets_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Compare-and-set on status; every edge out of `active` wipes the key. */
export async function transitionSecretsSession(
  db: Executor,
  id: string,
  change: { from: SecretsSessionStatus; to: SecretsSessionStatus; cardId?: string; nowMs: number },
): Promise<boolean> {
  assertSecretsSessionTransition(change.from, change.to);
  const result = await db
    .updateTable('secrets_sessions')
    .set({ status: change.to, key_ciphertext: null, updated_at: change.nowMs, ...(change.cardId ? { card_id: change.cardId } : {}) })
    .where('id', '=', id)
    .where('status', '=', change.from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function listExpiredActiveSecretsSessions(db: Executor, nowMs: number, limit: number): Promise<Pick<SecretsSessionRow, 'id'>[]> {
  return db.selectFrom('secrets_sessions').select('id').where('status', '=', 'active').where('expires_at', '<=', nowMs).limit(limit).execute();
}

export async function listFinishedSecretsSessions(db: Executor, limit: number): Promise<Pick<SecretsSessionRow, 'id' | 'status'>[]> {
  return db.selectFrom('secrets_sessions').select(['id', 'status']).where('status', 'in', ['used', 'expired']).limit(limit).execute();
}
