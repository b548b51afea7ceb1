import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { addLedgerEntry } from '../../src/cards/repository.js';
import { makeTestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';
import { AsgWalletClient } from './asg-wallet-client.js';

/**
 * ASG Card's clients against card402, unmodified, over real HTTP: every wallet call, in the
 * sequences they make, and the fields they read from each answer.
 */
async function setup() {
  const t = await makeTestApp();
  const agent = Keypair.random();
  const card = await seedCard(t, { agent, loadCents: 10_000, nameOnCard: 'Ada Agent' });
  const asg = new AsgWalletClient(await listen(t.app), agent, () => t.clock.nowMs());
  return { t, card, asg };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ok = (asg: AsgWalletClient, r: { status: number; body: any }) => {
  expect(r.status, `${asg.calls.join('\n')}\n${JSON.stringify(r.body)}`).toBe(200);
  return r.body;
};

describe('ASG Card clients, unmodified, against card402', () => {
  it('list (GET /cards/), get, transactions and balance within one second, one signature', async () => {
    const { card, asg } = await setup();
    const list = ok(asg, await asg.listCards());
    expect(list.cards).toEqual([expect.objectContaining({ cardId: card.cardId, nameOnCard: 'Ada Agent', lastFour: card.details.cardNumber.slice(-4), balance: 100, status: 'active' })]);

    const got = ok(asg, await asg.getCard(card.cardId));
    expect(got.card).toMatchObject({ cardId: card.cardId, status: 'active', balance: 100, lastFour: card.details.cardNumber.slice(-4) });

    const txs = ok(asg, await asg.transactions(card.cardId));
    expect(txs.transactions).toEqual([expect.objectContaining({ id: expect.any(String), type: 'initial_load', amount: 100, status: 'completed', currency: 'USD', description: expect.any(String), createdAt: expect.any(String) })]);
    expect(txs.pagination).toEqual({ page: 1, limit: 20, total: 1, pages: 1 });

    const balance = ok(asg, await asg.balance(card.cardId));
    expect(balance).toMatchObject({ cardId: card.cardId, balance: 100, currency: 'USD', source: expect.any(String) });
  });

  it('get a card then freeze it, unfreeze then freeze, all in one second', async () => {
    const { card, asg } = await setup();
    ok(asg, await asg.getCard(card.cardId));
    expect(ok(asg, await asg.freeze(card.cardId))).toEqual({ success: true, cardId: card.cardId, status: 'frozen' });
    expect(ok(asg, await asg.unfreeze(card.cardId))).toMatchObject({ success: true, status: 'active' });
    expect(ok(asg, await asg.freeze(card.cardId))).toMatchObject({ success: true, status: 'frozen' });
    expect(ok(asg, await asg.getCard(card.cardId)).card.status).toBe('frozen');
  });

  it('details with X-AGENT-NONCE, with ASG’s billing address keys; then a freeze in the same second; then details again the next second', async () => {
    const { t, card, asg } = await setup();
    const { details } = ok(asg, await asg.getDetails(card.cardId));
    const address = card.details.billingAddress;
    expect(details).toMatchObject({ cardNumber: card.details.cardNumber, expiryMonth: card.details.expiryMonth, expiryYear: card.details.expiryYear, cvv: card.details.cvv });
    expect(details.billingAddress).toMatchObject({ street: address.line1, city: address.city, state: address.state, zip: address.postalCode, country: address.country });
    ok(asg, await asg.freeze(card.cardId));
    t.clock.advanceMs(1000); // the client signs a new timestamp
    ok(asg, await asg.unfreeze(card.cardId));
    expect(ok(asg, await asg.getDetails(card.cardId)).details.cardNumber).toBe(card.details.cardNumber);
  });

  it('transactions page by page, as ASG clients ask for them', async () => {
    const { t, card, asg } = await setup();
    for (let i = 1; i <= 4; i++) {
      t.clock.advanceMs(1000);
      await addLedgerEntry(t.db, { cardId: card.cardId, kind: 'fund', amountCents: i * 500, paymentId: null, description: `top-up ${i}`, nowMs: t.clock.nowMs() });
    }
    const pages = [];
    for (let page = 1; page <= 3; page++) pages.push(ok(asg, await asg.transactions(card.cardId, page, 2)));
    expect(pages.map((p) => p.transactions.map((x: { amount: number }) => x.amount))).toEqual([[20, 15], [10, 5], [100]]);
    expect(pages.map((p) => p.pagination)).toEqual([1, 2, 3].map((page) => ({ page, limit: 2, total: 5, pages: 3 })));
  });
});
