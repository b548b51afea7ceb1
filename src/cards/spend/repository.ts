import { randomUUID } from 'node:crypto';
import { SqliteAdapter, sql, type Kysely } from 'kysely';
import type { CardAuthorizationRow, CardControlsTable, CardRow, Database, SpendEntryKind } from '../../db/schema.js';
import { reusableQuery, reusableStatement } from '../../db/reusable-query.js';
import type { Executor } from '../repository.js';
import { controlsFromRow, type Controls } from './controls.js';

/**
 * Reads the card row for a check-then-write. On SQLite the surrounding IMMEDIATE transaction already
 * holds the one write lock; on a server database the row is locked (SELECT … FOR UPDATE) so two
 * authorizations of one card are decided one after the other, never on the same balance.
 */
/** The queue the transactions that lock one card share (TransactionOptions.queueOn). */
export function cardQueue(cardId: string): string {
  return `card:${cardId}`;
}

export async function lockCard(trx: Executor, cardId: string): Promise<CardRow | undefined> {
  if (trx.getExecutor().adapter instanceof SqliteAdapter) return (await cardRow(trx as Kysely<Database>, cardId))[0];
  return trx.selectFrom('cards').selectAll().where('id', '=', cardId).forUpdate().executeTakeFirst();
}

// The statements of every authorization are compiled once (see reusableQuery).
const cardRow = reusableQuery(1, (db: Kysely<Database>, cardId: string) => db.selectFrom('cards').selectAll().where('id', '=', cardId));
const controlsRow = reusableQuery(1, (db: Kysely<Database>, cardId: string) => db.selectFrom('card_controls').selectAll().where('card_id', '=', cardId));
const dueOnCard = reusableQuery(3, (db: Kysely<Database>, cardId: string, nowMs: number, limit: number) =>
  db.selectFrom('card_authorizations').selectAll().where('card_id', '=', cardId).where('status', '=', 'pending').where('expires_at', '<=', nowMs).orderBy('expires_at').limit(limit),
);

export async function readControls(db: Executor, cardId: string): Promise<Controls> {
  return controlsFromRow((await controlsRow(db as Kysely<Database>, cardId))[0]);
}

export async function writeControls(db: Executor, cardId: string, controls: Controls, nowMs: number): Promise<void> {
  const row: CardControlsTable = {
    card_id: cardId,
    limits_json: JSON.stringify(controls.limits),
    allowed_categories_json: JSON.stringify(controls.allowedCategories),
    blocked_categories_json: JSON.stringify(controls.blockedCategories),
    allowed_merchants_json: JSON.stringify(controls.allowedMerchants),
    expires_at: controls.expiresAtMs,
    locked_by: controls.lockedBy,
    updated_at: nowMs,
  };
  const { card_id: _, ...update } = row;
  await db.insertInto('card_controls').values(row).onConflict((oc) => oc.column('card_id').doUpdateSet(update)).execute();
}

/** Controls of many cards at once (card lists); cards without a row have none. */
export async function lockedByForCards(db: Executor, cardIds: string[]): Promise<Map<string, Controls['lockedBy']>> {
  const out = new Map<string, Controls['lockedBy']>();
  if (cardIds.length === 0) return out;
  const rows = await db.selectFrom('card_controls').select(['card_id', 'locked_by']).where('card_id', 'in', cardIds).execute();
  for (const r of rows) out.set(r.card_id, r.locked_by);
  return out;
}

export interface SpendTotals {
  /** Sum of the spend entries' effect on the available balance (≤ 0 plus refunds). */
  availableDeltaCents: number;
  heldCents: number;
}

const addToTotals = reusableStatement(3, (db: Kysely<Database>, cardId: string, available: number, held: number) =>
  db
    .insertInto('card_spend_totals')
    .values({ card_id: cardId, available_delta_cents: available, held_cents: held })
    .onConflict((oc) =>
      oc.column('card_id').doUpdateSet((eb) => ({
        available_delta_cents: eb('card_spend_totals.available_delta_cents', '+', eb.ref('excluded.available_delta_cents')),
        held_cents: eb('card_spend_totals.held_cents', '+', eb.ref('excluded.held_cents')),
      })),
    ),
);

/** The card's spend entries summed (what card_spend_totals keeps running; tests compare the two). */
export async function spendTotals(db: Executor, cardId: string): Promise<SpendTotals> {
  const row = await db
    .selectFrom('card_spend_entries')
    .select((eb) => [
      eb.fn.coalesce(eb.fn.sum<number>('available_delta_cents'), eb.lit(0)).as('available'),
      eb.fn.coalesce(eb.fn.sum<number>('held_delta_cents'), eb.lit(0)).as('held'),
    ])
    .where('card_id', '=', cardId)
    .executeTakeFirstOrThrow();
  return { availableDeltaCents: Number(row.available), heldCents: Number(row.held) };
}

export async function spendTotalsForCards(db: Executor, cardIds: string[]): Promise<Map<string, SpendTotals>> {
  const out = new Map<string, SpendTotals>(cardIds.map((id) => [id, { availableDeltaCents: 0, heldCents: 0 }]));
  if (cardIds.length === 0) return out;
  const rows = await db
    .selectFrom('card_spend_entries')
    .select((eb) => ['card_id', eb.fn.sum<number>('available_delta_cents').as('available'), eb.fn.sum<number>('held_delta_cents').as('held')])
    .where('card_id', 'in', cardIds)
    .groupBy('card_id')
    .execute();
  for (const r of rows) out.set(r.card_id, { availableDeltaCents: Number(r.available), heldCents: Number(r.held) });
  return out;
}

/** Holds past their expiry that no sweep has released yet, per card (reads count them released). */
export async function dueHeldCentsForCards(db: Executor, cardIds: string[], nowMs: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (cardIds.length === 0) return out;
  const rows = await db
    .selectFrom('card_authorizations')
    .select((eb) => ['card_id', eb.fn.sum<number>('held_cents').as('held')])
    .where('card_id', 'in', cardIds)
    .where('status', '=', 'pending')
    .where('expires_at', '<=', nowMs)
    .groupBy('card_id')
    .execute();
  for (const r of rows) if (r.card_id) out.set(r.card_id, Number(r.held));
  return out;
}

/** Held plus captured amounts of the card's approved authorizations since `sinceMs` (all time when null). */
export async function spentSince(db: Executor, cardId: string, sinceMs: number | null): Promise<number> {
  let query = db
    .selectFrom('card_authorizations')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb('held_cents', '+', eb.ref('captured_cents'))), eb.lit(0)).as('spent'))
    .where('card_id', '=', cardId)
    .where('status', 'in', ['pending', 'captured']);
  if (sinceMs !== null) query = query.where('created_at', '>', sinceMs);
  return Number((await query.executeTakeFirstOrThrow()).spent);
}

export async function insertAuthorization(db: Executor, row: CardAuthorizationRow): Promise<void> {
  await db.insertInto('card_authorizations').values(row).execute();
}

export async function findAuthorization(db: Executor, id: string): Promise<CardAuthorizationRow | undefined> {
  return db.selectFrom('card_authorizations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAuthorizationByIssuerRef(db: Executor, issuerRef: string): Promise<CardAuthorizationRow | undefined> {
  return db.selectFrom('card_authorizations').selectAll().where('issuer_ref', '=', issuerRef).executeTakeFirst();
}

export async function updateAuthorization(
  db: Executor,
  id: string,
  set: Partial<Pick<CardAuthorizationRow, 'status' | 'held_cents' | 'captured_cents' | 'refunded_cents'>>,
  nowMs: number,
): Promise<void> {
  await db.updateTable('card_authorizations').set({ ...set, updated_at: nowMs }).where('id', '=', id).execute();
}

/** Records an authorization event and adds it to the card's running totals, in the caller's transaction. */
export async function addSpendEntry(
  db: Executor,
  entry: { cardId: string; authorizationId: string; kind: SpendEntryKind; amountCents: number; availableDeltaCents: number; heldDeltaCents: number; nowMs: number },
): Promise<void> {
  if (entry.availableDeltaCents !== 0 || entry.heldDeltaCents !== 0) {
    await addToTotals(db as Kysely<Database>, entry.cardId, entry.availableDeltaCents, entry.heldDeltaCents);
  }
  await db
    .insertInto('card_spend_entries')
    .values({
      id: randomUUID(),
      card_id: entry.cardId,
      authorization_id: entry.authorizationId,
      kind: entry.kind,
      amount_cents: entry.amountCents,
      available_delta_cents: entry.availableDeltaCents,
      held_delta_cents: entry.heldDeltaCents,
      created_at: entry.nowMs,
    })
    .execute();
}

export async function pendingDue(db: Executor, nowMs: number, opts: { cardId?: string; limit: number }): Promise<CardAuthorizationRow[]> {
  if (opts.cardId !== undefined) return dueOnCard(db as Kysely<Database>, opts.cardId, nowMs, opts.limit);
  let query = db.selectFrom('card_authorizations').selectAll().where('status', '=', 'pending').where('expires_at', '<=', nowMs);
  if (opts.cardId !== undefined) query = query.where('card_id', '=', opts.cardId);
  return query.orderBy('expires_at').limit(opts.limit).execute();
}

/** One row of a card's movements: a load or top-up (ledger) or an authorization event (spend). */
export interface MovementRow {
  source: 'ledger' | 'spend';
  seq: number;
  id: string;
  kind: string;
  amount_cents: number;
  description: string;
  created_at: number;
  authorization_id: string | null;
}

/** Where a page of movements starts: after (created_at, source, seq) in newest-first order. */
export interface MovementCursor {
  createdAt: number;
  source: 0 | 1;
  seq: number;
}

/**
 * A card's loads, top-ups and authorization events, newest first: one ordered union of the two
 * tables, ordered by (time, table, seq) descending, so a cursor names an exact position.
 */
export async function listMovements(db: Executor, cardId: string, page: { limit: number; after?: MovementCursor; offset?: number }): Promise<MovementRow[]> {
  const k = db as Kysely<Database>;
  const ledger = k
    .selectFrom('card_ledger_entries')
    .select((eb) => [
      sql<number>`0`.as('src'),
      'seq',
      'id',
      eb.cast<string>('kind', 'text').as('kind'),
      'amount_cents',
      'description',
      'created_at',
      eb.cast<string | null>(eb.val(null), 'text').as('authorization_id'),
    ])
    .where('card_id', '=', cardId);
  const spend = k
    .selectFrom('card_spend_entries')
    .select((eb) => [
      sql<number>`1`.as('src'),
      'seq',
      'id',
      eb.cast<string>('kind', 'text').as('kind'),
      'amount_cents',
      eb.cast<string>(eb.val(''), 'text').as('description'),
      'created_at',
      eb.cast<string | null>('authorization_id', 'text').as('authorization_id'),
    ])
    .where('card_id', '=', cardId);
  let query = k.selectFrom(ledger.unionAll(spend).as('m')).selectAll();
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('m.created_at', '<', after.createdAt),
        eb.and([eb('m.created_at', '=', after.createdAt), eb('m.src', '<', after.source)]),
        eb.and([eb('m.created_at', '=', after.createdAt), eb('m.src', '=', after.source), eb('m.seq', '<', after.seq)]),
      ]),
    );
  }
  query = query.orderBy('m.created_at', 'desc').orderBy('m.src', 'desc').orderBy('m.seq', 'desc').limit(page.limit);
  if (page.offset) query = query.offset(page.offset);
  const rows = await query.execute();
  return rows.map((r) => ({
    source: Number(r.src) === 0 ? 'ledger' : 'spend',
    seq: Number(r.seq),
    id: r.id,
    kind: r.kind,
    amount_cents: Number(r.amount_cents),
    description: r.description,
    created_at: Number(r.created_at),
    authorization_id: r.authorization_id,
  }));
}

export async function countSpendEntries(db: Executor, cardId: string): Promise<number> {
  const row = await db.selectFrom('card_spend_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('card_id', '=', cardId).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function authorizationsByIds(db: Executor, ids: string[]): Promise<Map<string, CardAuthorizationRow>> {
  const out = new Map<string, CardAuthorizationRow>();
  if (ids.length === 0) return out;
  for (const row of await db.selectFrom('card_authorizations').selectAll().where('id', 'in', ids).execute()) out.set(row.id, row);
  return out;
}
