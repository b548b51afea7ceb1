import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { addLedgerEntry } from '../../src/cards/repository.js';
import { seedCard } from '../helpers/wallet.js';
import { ACME, charge, makeSpendApp, post, signed } from './helpers.js';

describe('GET /cards/:cardId/transactions with authorizations', () => {
  it('lists loads, top-ups, approved and declined authorizations, captures, reversals and refunds, newest first, paged', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 5000 });
    const step = () => t.clock.advanceMs(1000);
    step();
    await addLedgerEntry(t.db, { cardId: card.cardId, kind: 'fund', amountCents: 1000, paymentId: null, description: 'top-up', nowMs: t.clock.nowMs() });
    step();
    const a = (await charge(t, card, 25)).body.authorization.id;
    step();
    await charge(t, card, 100);
    step();
    await post(t, `/sandbox/authorizations/${a}/capture`, { amount: 20 });
    step();
    const b = (await charge(t, card, 5)).body.authorization.id;
    step();
    await post(t, `/sandbox/authorizations/${b}/reverse`);
    step();
    await post(t, `/sandbox/authorizations/${a}/refund`, { amount: '2.50' });

    const all = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=100`);
    expect(all.status).toBe(200);
    const lines = all.body.transactions.map((x: { type: string; status: string; amountCents: number }) => [x.type, x.status, x.amountCents]);
    expect(lines).toEqual([
      ['refund', 'completed', 250],
      ['reversal', 'completed', 500],
      ['authorization', 'approved', -500],
      ['capture', 'completed', -2000],
      ['authorization', 'declined', 0],
      ['authorization', 'approved', -2500],
      ['fund', 'completed', 1000],
      ['initial_load', 'completed', 5000],
    ]);
    const declined = all.body.transactions[4];
    expect(declined).toMatchObject({ merchant: ACME, declineReason: 'insufficient_funds', authorizationId: expect.any(String), currency: 'USD' });
    expect(all.body.transactions[0]).toMatchObject({ authorizationId: a, merchant: ACME, amount: 2.5 });
    expect(all.body.transactions[0].declineReason).toBeUndefined();
    expect(all.body.pagination).toEqual({ page: 1, limit: 100, total: 8, pages: 1 });
    // The balance is the sum of what the lines moved: 5000 + 1000 − 2000 + 250.
    expect((await signed(t, agent, 'GET', `/cards/${card.cardId}/balance`)).body).toMatchObject({ balanceCents: 4250, heldCents: 0 });

    // By cursor, 3 at a time, the same lines in the same order; by page number too.
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { transactions: Array<{ id: string }>; nextCursor: string | null } } = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.transactions.map((x) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.transactions.map((x: { id: string }) => x.id));
    const page3 = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=3&page=3`);
    expect(page3.body.transactions.map((x: { id: string }) => x.id)).toEqual(seen.slice(6));
    expect(page3.body.pagination).toEqual({ page: 3, limit: 3, total: 8, pages: 3 });
  });

  it('orders lines of the same millisecond from both tables without repeating or skipping one across pages', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 5000 });
    for (let i = 0; i < 4; i++) {
      await charge(t, card, 1);
      await addLedgerEntry(t.db, { cardId: card.cardId, kind: 'fund', amountCents: 100, paymentId: null, description: 'top-up', nowMs: t.clock.nowMs() });
    }
    const all = (await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=100`)).body.transactions.map((x: { id: string }) => x.id);
    expect(all).toHaveLength(9);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { transactions: Array<{ id: string }>; nextCursor: string | null } } = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.transactions.map((x) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });
});
