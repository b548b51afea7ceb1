import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addLedgerEntry,
  balancesForCards,
  cardBalanceCents,
  insertCard,
  listCardSummariesAssignedTo,
  listCardSummariesForWallet,
  listLedgerEntries,
} from '../../src/cards/repository.js';
import { migrateToLatest } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';

async function freshDb() {
  const db = openTestDb();
  await migrateToLatest(db);
  return db;
}

function card(agent: string, owner: string, createdAt: number) {
  return {
    id: randomUUID(), agent_address: agent, owner_address: owner, name_on_card: 'A', email: 'a@b.c', status: 'active' as const,
    details_revoked: 0, last_four: '4242', details_ciphertext: Buffer.from([1]), provider_ref: 'p', created_at: createdAt, updated_at: createdAt,
  };
}

describe('card repository', () => {
  it('derives balances from ledger entries', async () => {
    const db = await freshDb();
    const c = card('GA', 'GA', 1);
    await insertCard(db, c);
    expect(await cardBalanceCents(db, c.id)).toBe(0);
    await addLedgerEntry(db, { cardId: c.id, kind: 'initial_load', amountCents: 10_000, paymentId: 'p1', description: 'load', nowMs: 1 });
    await addLedgerEntry(db, { cardId: c.id, kind: 'fund', amountCents: 2_550, paymentId: 'p2', description: 'fund', nowMs: 2 });
    await addLedgerEntry(db, { cardId: c.id, kind: 'spend', amountCents: -1_000, paymentId: null, description: 'coffee', nowMs: 3 });
    expect(await cardBalanceCents(db, c.id)).toBe(11_550);
    expect(await balancesForCards(db, [c.id, 'none'])).toEqual(new Map([[c.id, 11_550], ['none', 0]]));
    const newest = await listLedgerEntries(db, c.id, { limit: 2 });
    expect(newest.map((e) => e.kind)).toEqual(['spend', 'fund']);
    const older = await listLedgerEntries(db, c.id, { limit: 2, beforeSeq: newest[1]!.seq });
    expect(older.map((e) => e.kind)).toEqual(['initial_load']);
  });

  it('lists the cards a wallet holds, newest first; cards others named it owner of only in the assigned list', async () => {
    const db = await freshDb();
    const held = card('GAGENT', 'GOWNER', 1);
    const assigned = card('GOTHER', 'GAGENT', 2);
    const own = card('GAGENT', 'GAGENT', 3);
    const foreign = card('GOTHER', 'GOTHER', 4);
    for (const c of [held, assigned, own, foreign]) await insertCard(db, c);
    expect((await listCardSummariesForWallet(db, 'GAGENT', 0)).map((c) => c.id)).toEqual([own.id, held.id]);
    expect((await listCardSummariesAssignedTo(db, 'GAGENT', 0)).map((c) => [c.id, c.agent_address])).toEqual([[assigned.id, 'GOTHER']]);
    expect(await listCardSummariesForWallet(db, 'GOWNER', 0)).toEqual([]);
    expect((await listCardSummariesAssignedTo(db, 'GOWNER', 0)).map((c) => c.id)).toEqual([held.id]);
  });
});
