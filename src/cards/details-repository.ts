import { randomUUID } from 'node:crypto';
import type { CardDetailsAccessRow, DetailsAccessOutcome } from '../db/schema.js';
import type { Executor } from './repository.js';

/** Spent X-AGENT-NONCE values and the details access audit. Plain functions over a db or transaction. */

export async function isDetailsNonceSpent(db: Executor, cardId: string, nonceHash: string): Promise<boolean> {
  const row = await db
    .selectFrom('card_details_nonces')
    .select('created_at')
    .where('card_id', '=', cardId)
    .where('nonce_hash', '=', nonceHash)
    .executeTakeFirst();
  return row !== undefined;
}

/** How many nonces the card spent after `sinceMs` (an index range count). */
export async function countDetailsNoncesSince(db: Executor, cardId: string, sinceMs: number): Promise<number> {
  const row = await db
    .selectFrom('card_details_nonces')
    .select((eb) => eb.fn.countAll<number>().as('spent'))
    .where('card_id', '=', cardId)
    .where('created_at', '>', sinceMs)
    .executeTakeFirstOrThrow();
  return Number(row.spent);
}

/** Spend time (ms) of the card's `index`-th (0 = oldest) nonce after `sinceMs`. */
export async function detailsNonceTimeAt(db: Executor, cardId: string, sinceMs: number, index: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('card_details_nonces')
    .select('created_at')
    .where('card_id', '=', cardId)
    .where('created_at', '>', sinceMs)
    .orderBy('created_at')
    .limit(1)
    .offset(index)
    .executeTakeFirst();
  return row?.created_at;
}

export async function spendDetailsNonce(db: Executor, row: { cardId: string; nonceHash: string; wallet: string; nowMs: number }): Promise<void> {
  await db
    .insertInto('card_details_nonces')
    .values({ card_id: row.cardId, nonce_hash: row.nonceHash, wallet_address: row.wallet, created_at: row.nowMs })
    .execute();
}

export async function purgeDetailsNoncesBefore(db: Executor, beforeMs: number): Promise<void> {
  await db.deleteFrom('card_details_nonces').where('created_at', '<', beforeMs).execute();
}

export const MAX_USER_AGENT_CHARS = 256;

export async function recordDetailsAccess(
  db: Executor,
  entry: { cardId: string; wallet: string; ip: string; userAgent: string; outcome: DetailsAccessOutcome; nowMs: number },
): Promise<void> {
  await db
    .insertInto('card_details_access')
    .values({
      id: randomUUID(),
      card_id: entry.cardId,
      wallet_address: entry.wallet,
      ip: entry.ip.slice(0, 64),
      user_agent: entry.userAgent.slice(0, MAX_USER_AGENT_CHARS),
      outcome: entry.outcome,
      created_at: entry.nowMs,
    })
    .execute();
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
