import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { reusableQuery, reusableStatement } from '../db/reusable-query.js';
import type { CardLedgerEntryRow, CardLedgerKind, CardRow, CardStatus, Database, NewCardRow } from '../db/schema.js';

/** Repositories take a db or a transaction first; the service decides where transactions begin. */
export type Executor = Kysely<Database> | Transaction<Database>;

// The statements of every paid request are compiled once (see reusableQuery): kysely building the
// card insert alone was ~5 % of the server's CPU per paid card.
const CARD_COLUMNS = [
  'id',
  'agent_address',
  'owner_address',
  'name_on_card',
  'email',
  'status',
  'details_revoked',
  'last_four',
  'details_ciphertext',
  'provider_ref',
  'created_at',
  'updated_at',
] as const satisfies ReadonlyArray<keyof NewCardRow>;
const insertCardStatement = reusableStatement(CARD_COLUMNS.length, (db: Kysely<Database>, ...values: unknown[]) =>
  db.insertInto('cards').values(Object.fromEntries(CARD_COLUMNS.map((column, i) => [column, values[i]])) as NewCardRow),
);
const cardById = reusableQuery(1, (db: Kysely<Database>, cardId: string) => db.selectFrom('cards').selectAll().where('id', '=', cardId));
const insertLedgerEntryStatement = reusableStatement(
  7,
  (db: Kysely<Database>, id: string, cardId: string, kind: CardLedgerKind, amountCents: number, paymentId: string | null, description: string, createdAt: number) =>
    db.insertInto('card_ledger_entries').values({
      id,
      card_id: cardId,
      kind,
      amount_cents: amountCents,
      payment_id: paymentId,
      description,
      created_at: createdAt,
    }),
);
/**
 * A card's funds, in integer cents, derived from its entries: loads and top-ups
 * (card_ledger_entries) and authorization events (card_spend_entries: holds, captures, reversals,
 * expiries, refunds, summed as they are written into card_spend_totals), so
 * available = loads − holds − captures + refunds + reversals. A hold past its
 * expiry that the sweep has not released yet already counts as released (`due`).
 */
function fundsSelections(eb: ExpressionBuilder<Database, 'cards'>, nowMs: number) {
  const ledger = eb.fn.coalesce(
    eb.selectFrom('card_ledger_entries').select((inner) => inner.fn.sum<number>('amount_cents').as('s')).whereRef('card_ledger_entries.card_id', '=', 'cards.id'),
    eb.lit(0),
  );
  // card_spend_entries' sums, kept running in card_spend_totals (one row, not the card's whole history).
  const spendAvailable = eb.fn.coalesce(
    eb.selectFrom('card_spend_totals').select('card_spend_totals.available_delta_cents').whereRef('card_spend_totals.card_id', '=', 'cards.id'),
    eb.lit(0),
  );
  const held = eb.fn.coalesce(
    eb.selectFrom('card_spend_totals').select('card_spend_totals.held_cents').whereRef('card_spend_totals.card_id', '=', 'cards.id'),
    eb.lit(0),
  );
  const due = dueHeld(eb, nowMs);
  return [eb(eb(ledger, '+', spendAvailable), '+', due).as('balance_cents'), eb(held, '-', due).as('held_cents')] as const;
}

/** What the card's holds past their expiry that no sweep has released yet hold (counted as available). */
function dueHeld(eb: ExpressionBuilder<Database, 'cards'>, nowMs: number) {
  return eb.fn.coalesce(
    eb
      .selectFrom('card_authorizations')
      .select((inner) => inner.fn.sum<number>('held_cents').as('s'))
      .whereRef('card_authorizations.card_id', '=', 'cards.id')
      .where('card_authorizations.status', '=', 'pending')
      .where('card_authorizations.expires_at', '<=', nowMs),
    eb.lit(0),
  );
}

const fundsOfCard = reusableQuery(2, (db: Kysely<Database>, cardId: string, nowMs: number) =>
  db
    .selectFrom('cards')
    .select((eb) => fundsSelections(eb, nowMs))
    .where('id', '=', cardId),
);

export async function insertCard(db: Executor, card: NewCardRow): Promise<void> {
  await insertCardStatement(db as Kysely<Database>, ...CARD_COLUMNS.map((column) => card[column]));
}

export async function findCard(db: Executor, cardId: string): Promise<CardRow | undefined> {
  return (await cardById(db as Kysely<Database>, cardId))[0];
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
  await insertLedgerEntryStatement(db as Kysely<Database>, randomUUID(), entry.cardId, entry.kind, entry.amountCents, entry.paymentId, entry.description, entry.nowMs);
}

export interface CardFunds {
  /** What can be spent: ASG's `balance`. */
  availableCents: number;
  /** Held by authorizations not yet captured, reversed or expired. */
  heldCents: number;
}

/**
 * The card's funds at `nowMs` (see fundsSelections); zero for a card that does not exist. Without
 * `nowMs`, holds count until the sweep releases them.
 */
export async function cardFunds(db: Executor, cardId: string, nowMs = 0): Promise<CardFunds> {
  const [row] = await fundsOfCard(db as Kysely<Database>, cardId, nowMs);
  return { availableCents: Number(row?.balance_cents ?? 0), heldCents: Number(row?.held_cents ?? 0) };
}

const availableAndDueOfCard = reusableQuery(2, (db: Kysely<Database>, cardId: string, nowMs: number) =>
  db
    .selectFrom('cards')
    .select((eb) => [fundsSelections(eb, nowMs)[0], dueHeld(eb, nowMs).as('due_cents')])
    .where('id', '=', cardId),
);

/**
 * For an authorization decision, in one statement: the available balance at `nowMs` (as
 * cardFunds) and how much of it is held by holds past their expiry that are not released yet. A
 * pending hold always holds more than zero (amounts are > 0), so zero means there is none to release.
 */
export async function availableAndDueCents(db: Executor, cardId: string, nowMs: number): Promise<{ availableCents: number; dueHeldCents: number }> {
  const [row] = await availableAndDueOfCard(db as Kysely<Database>, cardId, nowMs);
  return { availableCents: Number(row?.balance_cents ?? 0), dueHeldCents: Number(row?.due_cents ?? 0) };
}

/** The available balance: what `balance` means everywhere. */
export async function cardBalanceCents(db: Executor, cardId: string, nowMs = 0): Promise<number> {
  return (await cardFunds(db, cardId, nowMs)).availableCents;
}

/** Available balances of several cards (0 for an unknown id). */
export async function balancesForCards(db: Executor, cardIds: string[], nowMs = 0): Promise<Map<string, number>> {
  const balances = new Map<string, number>(cardIds.map((id) => [id, 0]));
  if (cardIds.length === 0) return balances;
  const rows = await db
    .selectFrom('cards')
    .select((eb) => ['cards.id', ...fundsSelections(eb, nowMs)])
    .where('cards.id', 'in', cardIds)
    .execute();
  for (const row of rows) balances.set(row.id, Number(row.balance_cents));
  return balances;
}

/** Ledger entries newest first, paged by the monotonically increasing seq (or skipping `offset`). */
export async function listLedgerEntries(
  db: Executor,
  cardId: string,
  page: { limit: number; beforeSeq?: number; offset?: number },
): Promise<CardLedgerEntryRow[]> {
  let query = db.selectFrom('card_ledger_entries').selectAll().where('card_id', '=', cardId);
  if (page.beforeSeq !== undefined) query = query.where('seq', '<', page.beforeSeq);
  query = query.orderBy('seq', 'desc').limit(page.limit);
  if (page.offset) query = query.offset(page.offset);
  return query.execute();
}

export async function countLedgerEntries(db: Executor, cardId: string): Promise<number> {
  const row = await db.selectFrom('card_ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('card_id', '=', cardId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** What a card list shows: no card data, no provider ids, balance summed from the ledger in the same query. */
export interface CardListRow {
  id: string;
  name_on_card: string;
  last_four: string;
  status: CardStatus;
  created_at: number;
  balance_cents: number;
  held_cents: number;
}

/** Cards newest first, with their funds summed in the same query; the callers below add the filter. */
function cardSummaries(db: Kysely<Database>, nowMs: number) {
  return db
    .selectFrom('cards')
    .select(['cards.id', 'cards.name_on_card', 'cards.last_four', 'cards.status', 'cards.created_at'])
    .select((eb) => fundsSelections(eb, nowMs))
    .orderBy('created_at', 'desc')
    .orderBy('id');
}

// The hot signed read (GET /cards): compiled once, see reusableQuery.
const heldCardSummaries = reusableQuery(2, (db: Kysely<Database>, wallet: string, nowMs: number) => cardSummaries(db, nowMs).where('agent_address', '=', wallet));
const assignedCardSummaries = reusableQuery(2, (db: Kysely<Database>, wallet: string, nowMs: number) =>
  cardSummaries(db, nowMs).select('cards.agent_address').where('owner_address', '=', wallet).where('agent_address', '!=', wallet),
);

/**
 * Cards the wallet holds: it paid for them (`agent_address`), whoever it named owner. What
 * `GET /cards` lists, as ASG does. A card some other wallet bought and named this one owner of is
 * not here (anyone may name anyone owner): see listCardSummariesAssignedTo.
 */
export async function listCardSummariesForWallet(db: Executor, wallet: string, nowMs: number): Promise<CardListRow[]> {
  const rows = await heldCardSummaries(db as Kysely<Database>, wallet, nowMs);
  return rows.map((r) => ({ ...r, balance_cents: Number(r.balance_cents), held_cents: Number(r.held_cents) }));
}

/** Cards other wallets bought and named `wallet` owner of (never its own), with the buyer's address. */
export async function listCardSummariesAssignedTo(db: Executor, wallet: string, nowMs: number): Promise<Array<CardListRow & { agent_address: string }>> {
  const rows = await assignedCardSummaries(db as Kysely<Database>, wallet, nowMs);
  return rows.map((r) => ({ ...r, balance_cents: Number(r.balance_cents), held_cents: Number(r.held_cents) }));
}

/** The newest card's id and encrypted data, to check at start-up that the configured key opens it. */
export async function newestCardCiphertext(db: Executor): Promise<Pick<CardRow, 'id' | 'details_ciphertext'> | undefined> {
  return db.selectFrom('cards').select(['id', 'details_ciphertext']).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
}
