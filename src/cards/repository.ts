import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { reusableQuery } from '../db/reusable-query.js';
import type { CardLedgerEntryRow, CardLedgerKind, CardRow, CardStatus, Database, NewCardRow } from '../db/schema.js';

/** Repositories take a db or a transaction first; the service decides where transactions begin. */
export type Executor = Kysely<Database> | Transaction<Database>;

export async function insertCard(db: Executor, card: NewCardRow): Promise<void> {
  await db.insertInto('cards').values(card).execute();
}

export async function findCard(db: Executor, cardId: string): Promise<CardRow | undefined> {
  return db.selectFrom('cards').selectAll().where('id', '=', cardId).executeTakeFirst();
}

/** Cards where the wallet is the agent (payer) or the owner, newest first. */
export async function listCardsForWallet(db: Executor, wallet: string): Promise<CardRow[]> {
  return db
    .selectFrom('cards')
    .selectAll()
    .where((eb) => eb.or([eb('agent_address', '=', wallet), eb('owner_address', '=', wallet)]))
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .execute();
}

export async function setCardStatus(db: Executor, cardId: string, status: CardStatus, nowMs: number): Promise<void> {
  await db.updateTable('cards').set({ status, updated_at: nowMs }).where('id', '=', cardId).execute();
}

export async function setDetailsRevoked(db: Executor, cardId: string, revoked: boolean, nowMs: number): Promise<void> {
  await db.updateTable('cards').set({ details_revoked: revoked ? 1 : 0, updated_at: nowMs }).where('id', '=', cardId).execute();
}

export async function addLedgerEntry(
  db: Executor,
  entry: { cardId: string; kind: CardLedgerKind; amountCents: number; paymentId: string | null; description: string; nowMs: number },
): Promise<void> {
  await db
    .insertInto('card_ledger_entries')
    .values({
      id: randomUUID(),
      card_id: entry.cardId,
      kind: entry.kind,
      amount_cents: entry.amountCents,
      payment_id: entry.paymentId,
      description: entry.description,
      created_at: entry.nowMs,
    })
    .execute();
}

/** The balance is never stored: it is the sum of the card's ledger entries. */
export async function cardBalanceCents(db: Executor, cardId: string): Promise<number> {
  const row = await db
    .selectFrom('card_ledger_entries')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_cents'), eb.lit(0)).as('balance'))
    .where('card_id', '=', cardId)
    .executeTakeFirstOrThrow();
  return Number(row.balance);
}

export async function balancesForCards(db: Executor, cardIds: string[]): Promise<Map<string, number>> {
  const balances = new Map<string, number>(cardIds.map((id) => [id, 0]));
  if (cardIds.length === 0) return balances;
  const rows = await db
    .selectFrom('card_ledger_entries')
    .select(['card_id', (eb) => eb.fn.sum<number>('amount_cents').as('balance')])
    .where('card_id', 'in', cardIds)
    .groupBy('card_id')
    .execute();
  for (const row of rows) balances.set(row.card_id, Number(row.balance));
  return balances;
}

/** Ledger entries newest first, paged by the monotonically increasing seq. */
export async function listLedgerEntries(
  db: Executor,
  cardId: string,
  page: { limit: number; beforeSeq?: number },
): Promise<CardLedgerEntryRow[]> {
  let query = db.selectFrom('card_ledger_entries').selectAll().where('card_id', '=', cardId);
  if (page.beforeSeq !== undefined) query = query.where('seq', '<', page.beforeSeq);
  return query.orderBy('seq', 'desc').limit(page.limit).execute();
}

/** What a card list shows: no card data, no provider ids, balance summed from the ledger in the same query. */
export interface CardListRow {
  id: string;
  name_on_card: string;
  last_four: string;
  status: CardStatus;
  created_at: number;
  balance_cents: number;
}

/** Cards where the wallet is the agent or the owner, newest first, with balances, in one query. */
const cardSummariesForWallet = reusableQuery(1, (db: Kysely<Database>, wallet: string) =>
  db
    .selectFrom('cards')
    .select(['cards.id', 'cards.name_on_card', 'cards.last_four', 'cards.status', 'cards.created_at'])
    .select((eb) =>
      eb.fn
        .coalesce(
          eb.selectFrom('card_ledger_entries').select((inner) => inner.fn.sum<number>('amount_cents').as('s')).whereRef('card_ledger_entries.card_id', '=', 'cards.id'),
          eb.lit(0),
        )
        .as('balance_cents'),
    )
    .where((eb) => eb.or([eb('agent_address', '=', wallet), eb('owner_address', '=', wallet)]))
    .orderBy('created_at', 'desc')
    .orderBy('id'),
);

export async function listCardSummariesForWallet(db: Executor, wallet: string): Promise<CardListRow[]> {
  // The hot signed read (GET /cards): compiled once, see reusableQuery.
  const rows = await cardSummariesForWallet(db as Kysely<Database>, wallet);
  return rows.map((r) => ({ ...r, balance_cents: Number(r.balance_cents) }));
}

/** The newest card's id and encrypted data, to check at start-up that the configured key opens it. */
export async function newestCardCiphertext(db: Executor): Promise<Pick<CardRow, 'id' | 'details_ciphertext'> | undefined> {
  return db.selectFrom('cards').select(['id', 'details_ciphertext']).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
}
