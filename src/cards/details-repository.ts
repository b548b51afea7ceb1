import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { reusableQuery, reusableStatement } from '../db/reusable-query.js';
import type { CardDataPath, CardDetailsAccessRow, Database, DetailsAccessOutcome } from '../db/schema.js';
import type { Executor } from './repository.js';

/** Spent X-AGENT-NONCE values and the details access audit. Plain functions over a db or transaction. */

// The statements of every details read are compiled once (see reusableQuery), not rebuilt by kysely.
const spentNonce = reusableQuery(2, (db: Kysely<Database>, cardId: string, nonceHash: string) =>
  db.selectFrom('card_details_nonces').select('created_at').where('card_id', '=', cardId).where('nonce_hash', '=', nonceHash),
);
const noncesSince = reusableQuery(3, (db: Kysely<Database>, cardId: string, wallet: string, sinceMs: number) =>
  db
    .selectFrom('card_details_nonces')
    .select((eb) => eb.fn.countAll<number>().as('spent'))
    .where('card_id', '=', cardId)
    .where('created_at', '>', sinceMs)
    .where('wallet_address', '=', wallet),
);
const insertNonce = reusableStatement(4, (db: Kysely<Database>, cardId: string, nonceHash: string, wallet: string, nowMs: number) =>
  db.insertInto('card_details_nonces').values({ card_id: cardId, nonce_hash: nonceHash, wallet_address: wallet, created_at: nowMs }),
);
const insertAccess = reusableStatement(
  8,
  (db: Kysely<Database>, id: string, cardId: string, wallet: string, ip: string, userAgent: string, outcome: DetailsAccessOutcome, path: CardDataPath, nowMs: number) =>
    db.insertInto('card_details_access').values({ id, card_id: cardId, wallet_address: wallet, ip, user_agent: userAgent, outcome, path, created_at: nowMs }),
);

export async function isDetailsNonceSpent(db: Executor, cardId: string, nonceHash: string): Promise<boolean> {
  return (await spentNonce(db as Kysely<Database>, cardId, nonceHash)).length > 0;
}

/**
 * How many nonces `wallet` spent on the card after `sinceMs` (an index range over the card's
 * window, at most a few rows, filtered by wallet): each party of a card has its own allowance.
 */
export async function countDetailsNoncesSince(db: Executor, cardId: string, wallet: string, sinceMs: number): Promise<number> {
  const [row] = await noncesSince(db as Kysely<Database>, cardId, wallet, sinceMs);
  return Number(row!.spent);
}

/** Spend time (ms) of the `index`-th (0 = oldest) nonce `wallet` spent on the card after `sinceMs`. */
export async function detailsNonceTimeAt(db: Executor, cardId: string, wallet: string, sinceMs: number, index: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('card_details_nonces')
    .select('created_at')
    .where('card_id', '=', cardId)
    .where('created_at', '>', sinceMs)
    .where('wallet_address', '=', wallet)
    .orderBy('created_at')
    .limit(1)
    .offset(index)
    .executeTakeFirst();
  return row?.created_at;
}

export async function spendDetailsNonce(db: Executor, row: { cardId: string; nonceHash: string; wallet: string; nowMs: number }): Promise<void> {
  await insertNonce(db as Kysely<Database>, row.cardId, row.nonceHash, row.wallet, row.nowMs);
}

export async function purgeDetailsNoncesBefore(db: Executor, beforeMs: number): Promise<void> {
  await db.deleteFrom('card_details_nonces').where('created_at', '<', beforeMs).execute();
}

export const MAX_USER_AGENT_CHARS = 256;

export async function recordDetailsAccess(
  db: Executor,
  entry: { cardId: string; wallet: string; ip: string; userAgent: string; outcome: DetailsAccessOutcome; path: CardDataPath; nowMs: number },
): Promise<void> {
  const userAgent = entry.userAgent.slice(0, MAX_USER_AGENT_CHARS);
  await insertAccess(db as Kysely<Database>, randomUUID(), entry.cardId, entry.wallet, entry.ip.slice(0, 64), userAgent, entry.outcome, entry.path, entry.nowMs);
}

/** Audit rows newest first, paged by seq. */
export async function listDetailsAccess(
  db: Executor,
  cardId: string,
  page: { limit: number; beforeSeq?: number },
): Promise<CardDetailsAccessRow[]> {
  let query = db.selectFrom('card_details_access').selectAll().where('card_id', '=', cardId);
  if (page.beforeSeq !== undefined) query = query.where('seq', '<', page.beforeSeq);
  return query.orderBy('seq', 'desc').limit(page.limit).execute();
}

// --- Refusals (details attempts by wallets that are not a party of the card) ---

/** The counter rows of refusals beyond the itemized ones are per card and per hour. */
export const REFUSAL_BUCKET_MS = 3_600_000;

/** `not_authorized` audit rows written for `wallet` (on any card) after `sinceMs`. */
export async function countItemizedRefusalsByWallet(db: Executor, wallet: string, sinceMs: number): Promise<number> {
  const row = await db
    .selectFrom('card_details_access')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('wallet_address', '=', wallet)
    .where('outcome', '=', 'not_authorized')
    .where('created_at', '>', sinceMs)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** `not_authorized` audit rows written on the card (by any wallet) after `sinceMs`. */
export async function countItemizedRefusalsOnCard(db: Executor, cardId: string, sinceMs: number): Promise<number> {
  const row = await db
    .selectFrom('card_details_access')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('card_id', '=', cardId)
    .where('outcome', '=', 'not_authorized')
    .where('created_at', '>', sinceMs)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Counts one refusal that is not itemized: +1 on the card's counter for the current hour. */
export async function countUnlistedRefusal(db: Executor, cardId: string, nowMs: number): Promise<void> {
  const hourStart = nowMs - (nowMs % REFUSAL_BUCKET_MS);
  await db
    .insertInto('card_details_refusals')
    .values({ card_id: cardId, hour_start: hourStart, attempts: 1, first_at: nowMs, last_at: nowMs })
    .onConflict((oc) =>
      oc.columns(['card_id', 'hour_start']).doUpdateSet((eb) => ({ attempts: eb('card_details_refusals.attempts', '+', 1), last_at: nowMs })),
    )
    .execute();
}

export interface UnlistedRefusals {
  attempts: number;
  firstAtMs: number | null;
  lastAtMs: number | null;
}

/** The card's refusals that were counted but not itemized, over what retention kept. */
export async function unlistedRefusals(db: Executor, cardId: string): Promise<UnlistedRefusals> {
  const row = await db
    .selectFrom('card_details_refusals')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('attempts'), eb.lit(0)).as('attempts'),
      eb.fn.min<number | null>('first_at').as('first'),
      eb.fn.max<number | null>('last_at').as('last'),
    ])
    .where('card_id', '=', cardId)
    .executeTakeFirstOrThrow();
  return { attempts: Number(row.attempts), firstAtMs: row.first ?? null, lastAtMs: row.last ?? null };
}

/** Rows deleted per statement when pruning, so a large backlog never holds the write lock for long. */
export const AUDIT_PRUNE_BATCH_ROWS = 5_000;

/** Deletes audit rows, and refusal counters whose last attempt is, older than `beforeMs`. */
export async function pruneDetailsAuditBefore(db: Executor, beforeMs: number): Promise<{ attempts: number; refusalCounters: number }> {
  let attempts = 0;
  for (;;) {
    const batch = db.selectFrom('card_details_access').select('seq').where('created_at', '<', beforeMs).limit(AUDIT_PRUNE_BATCH_ROWS);
    const result = await db.deleteFrom('card_details_access').where('seq', 'in', batch).executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    attempts += deleted;
    if (deleted < AUDIT_PRUNE_BATCH_ROWS) break;
  }
  const counters = await db.deleteFrom('card_details_refusals').where('last_at', '<', beforeMs).executeTakeFirst();
  return { attempts, refusalCounters: Number(counters.numDeletedRows) };
}
