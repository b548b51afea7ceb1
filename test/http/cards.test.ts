import { Keypair } from '@stellar/stellar-sdk';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CardDataCipher, type CardDetails } from '../../src/cards/card-data.js';
import { addLedgerEntry } from '../../src/cards/repository.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';

async function call(t: TestApp, kp: Keypair, method: string, path: string, headers: Record<string, string> = {}) {
  const res = await signedRequest(t, kp, method, path, { headers });
  return { status: res.status, body: await bodyOf(res), headers: res.headers };
}

/** A real cipher that counts decryptions, to prove which endpoints never touch card data. */
class CountingCipher extends CardDataCipher {
  decryptions = 0;
  override decrypt(cardId: string, blob: Buffer): CardDetails {
    this.decryptions += 1;
    return super.decrypt(cardId, blob);
  }
}

describe('GET /cards', () => {
  it('returns the cards the caller holds (bought), newest first, in the ASG shape', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const stranger = Keypair.random();
    const held = await seedCard(t, { agent, owner, loadCents: 12_345, nameOnCard: 'Agent Card' });
    t.clock.advanceMs(1000);
    const ownHeld = await seedCard(t, { agent });
    await seedCard(t, { agent: stranger, owner: agent });
    await seedCard(t, { agent: stranger });

    const mine = await call(t, agent, 'GET', '/cards');
    expect(mine.status).toBe(200);
    expect(mine.body.cards.map((c: { cardId: string }) => c.cardId)).toEqual([ownHeld.cardId, held.cardId]);
    expect(Object.keys(mine.body)).toEqual(['cards']);
    expect(mine.body.cards[1]).toEqual({
      cardId: held.cardId,
      nameOnCard: 'Agent Card',
      lastFour: held.details.cardNumber.slice(-4),
      balance: 123.45,
      balanceCents: 12_345,
      held: 0,
      heldCents: 0,
      status: 'active',
      createdAt: new Date(Date.UTC(2026, 10, 21, 12, 0, 0)).toISOString(),
    });
    expect((await call(t, agent, 'GET', '/cards?role=holder')).body).toEqual(mine.body);
    expect((await call(t, Keypair.random(), 'GET', '/cards')).body).toEqual({ cards: [] });
  });

  it('a card a stranger bought and named you owner of never shows in your plain list, only in ?role=owner, labelled as assigned by its holder', async () => {
    const t = await makeTestApp();
    const victim = Keypair.random();
    const stranger = Keypair.random();
    const own = await seedCard(t, { agent: victim, loadCents: 500 });
    t.clock.advanceMs(1000);
    const planted = await seedCard(t, { agent: stranger, owner: victim, nameOnCard: 'Support call +1 555 0100', loadCents: 100 });

    const plain = await call(t, victim, 'GET', '/cards');
    expect(plain.body).toEqual({ cards: [expect.objectContaining({ cardId: own.cardId })] });
    expect(JSON.stringify(plain.body)).not.toContain(planted.cardId);

    const assigned = await call(t, victim, 'GET', '/cards?role=owner');
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(200);
    expect(assigned.body).toEqual({
      role: 'owner',
      description: expect.stringMatching(/other wallets bought and named you owner/),
      cards: [
        {
          cardId: planted.cardId,
          nameOnCard: 'Support call +1 555 0100',
          lastFour: planted.details.cardNumber.slice(-4),
          balance: 1,
          balanceCents: 100,
          held: 0,
          heldCents: 0,
          status: 'active',
          createdAt: new Date(t.clock.nowMs()).toISOString(),
          agentAddress: stranger.publicKey(),
        },
      ],
    });
    // The holder's own list has it; its assigned view does not; the owner can still read the card itself.
    expect((await call(t, stranger, 'GET', '/cards')).body.cards.map((c: { cardId: string }) => c.cardId)).toEqual([planted.cardId]);
    expect((await call(t, stranger, 'GET', '/cards?role=owner')).body.cards).toEqual([]);
    expect((await call(t, victim, 'GET', `/cards/${planted.cardId}`)).status).toBe(200);
  });

  it('400 VALIDATION_ERROR for an unknown role; other query parameters are ignored', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const bad = await call(t, agent, 'GET', '/cards?role=admin');
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_ERROR');
    expect((await call(t, agent, 'GET', '/cards?x=1')).body).toEqual({ cards: [expect.objectContaining({ cardId: card.cardId })] });
  });

  it('never decrypts card data, and never returns it or provider ids', async () => {
    const cipher = new CountingCipher(randomBytes(32));
    const t = await makeTestApp({ cardCipher: cipher });
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, providerRef: 'prov_internal_secret_ref' });
    await seedCard(t, { agent: Keypair.random(), owner: agent, providerRef: 'prov_internal_secret_ref_2' });
    const responses = [
      await call(t, agent, 'GET', '/cards'),
      await call(t, agent, 'GET', '/cards?role=owner'),
      await call(t, agent, 'GET', `/cards/${card.cardId}`),
      await call(t, agent, 'GET', `/cards/${card.cardId}/balance`),
      await call(t, agent, 'GET', `/cards/${card.cardId}/transactions`),
      await call(t, agent, 'POST', `/cards/${card.cardId}/freeze`),
      await call(t, agent, 'POST', `/cards/${card.cardId}/revoke-details`),
      await call(t, agent, 'GET', `/cards/${card.cardId}/details-access`),
    ];
    for (const r of responses) {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const text = JSON.stringify(r.body);
      expect(text).not.toContain(card.details.cardNumber);
      expect(text).not.toContain('prov_internal_secret_ref');
      expect(text).not.toMatch(/cvv|ciphertext|provider/i);
    }
    expect(cipher.decryptions).toBe(0);
  });
});

describe('GET /cards/:cardId', () => {
  it('returns the card to its agent and its owner, 404 to anyone else exactly like a missing card', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const card = await seedCard(t, { agent, owner, loadCents: 500 });
    for (const kp of [agent, owner]) {
      const r = await call(t, kp, 'GET', `/cards/${card.cardId}`);
      expect(r.status).toBe(200);
      expect(r.body.card).toMatchObject({
        cardId: card.cardId,
        balance: 5,
        status: 'active',
        detailsRevoked: false,
        agentAddress: agent.publicKey(),
        ownerAddress: owner.publicKey(),
      });
    }
    const foreign = await call(t, Keypair.random(), 'GET', `/cards/${card.cardId}`);
    const missing = await call(t, agent, 'GET', `/cards/${randomUUID()}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ error: 'card not found', code: 'CARD_NOT_FOUND' });
    expect(missing.body).toEqual(foreign.body);
  });
});

describe('freeze / unfreeze', () => {
  it('both roles can freeze and unfreeze; strangers get 404 and change nothing', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const card = await seedCard(t, { agent, owner });
    expect((await call(t, Keypair.random(), 'POST', `/cards/${card.cardId}/freeze`)).status).toBe(404);
    expect((await call(t, agent, 'GET', `/cards/${card.cardId}`)).body.card.status).toBe('active');

    expect((await call(t, agent, 'POST', `/cards/${card.cardId}/freeze`)).body).toEqual({ success: true, cardId: card.cardId, status: 'frozen' });
    expect((await call(t, owner, 'GET', `/cards/${card.cardId}`)).body.card.status).toBe('frozen');
    // Idempotent.
    expect((await call(t, owner, 'POST', `/cards/${card.cardId}/freeze`)).body.status).toBe('frozen');
    expect((await call(t, owner, 'POST', `/cards/${card.cardId}/unfreeze`)).body).toEqual({ success: true, cardId: card.cardId, status: 'active' });
    expect((await call(t, agent, 'GET', '/cards')).body.cards[0].status).toBe('active');
  });
});

describe('revoke-details / restore-details', () => {
  it('owner revoke blocks the agent’s details reads, the agent cannot restore, the owner can', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const card = await seedCard(t, { agent, owner });
    const details = (kp: Keypair) => call(t, kp, 'GET', `/cards/${card.cardId}/details`, { 'X-AGENT-NONCE': randomUUID() });

    expect((await details(agent)).status).toBe(200);
    const agentRevoke = await call(t, agent, 'POST', `/cards/${card.cardId}/revoke-details`);
    expect(agentRevoke.status).toBe(403);
    expect(agentRevoke.body.code).toBe('OWNER_ONLY');

    expect((await call(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`)).body).toEqual({ success: true, cardId: card.cardId, detailsRevoked: true });
    const blocked = await details(agent);
    expect(blocked.status).toBe(403);
    expect(blocked.body.code).toBe('DETAILS_REVOKED');
    expect((await details(owner)).status).toBe(403);

    const agentRestore = await call(t, agent, 'POST', `/cards/${card.cardId}/restore-details`);
    expect(agentRestore.status).toBe(403);
    expect(agentRestore.body.code).toBe('OWNER_ONLY');
    expect((await details(agent)).status).toBe(403);

    expect((await call(t, owner, 'POST', `/cards/${card.cardId}/restore-details`)).body).toEqual({ success: true, cardId: card.cardId, detailsRevoked: false });
    expect((await details(agent)).status).toBe(200);
  });

  it('a stranger gets 404, not 403', async () => {
    const t = await makeTestApp();
    const card = await seedCard(t, { agent: Keypair.random() });
    const r = await call(t, Keypair.random(), 'POST', `/cards/${card.cardId}/revoke-details`);
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('CARD_NOT_FOUND');
  });

  it('when the agent is its own owner (the default) it may revoke and restore', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    expect((await call(t, agent, 'POST', `/cards/${card.cardId}/revoke-details`)).body.detailsRevoked).toBe(true);
    expect((await call(t, agent, 'POST', `/cards/${card.cardId}/restore-details`)).body.detailsRevoked).toBe(false);
  });
});

describe('balance and transactions', () => {
  it('derive from the card ledger, paged newest first with a cursor', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 10_000 });
    for (const [kind, cents] of [['fund', 2_550], ['spend', -1_234], ['refund', 34]] as const) {
      t.clock.advanceMs(1000);
      await addLedgerEntry(t.db, { cardId: card.cardId, kind, amountCents: cents, paymentId: null, description: kind, nowMs: t.clock.nowMs() });
    }
    const balance = await call(t, agent, 'GET', `/cards/${card.cardId}/balance`);
    expect(balance.body).toEqual({ cardId: card.cardId, balance: 113.5, balanceCents: 11_350, held: 0, heldCents: 0, currency: 'USD', source: 'local' });

    const first = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.transactions.map((x: { type: string }) => x.type)).toEqual(['refund', 'spend', 'fund']);
    expect(first.body.transactions[1]).toMatchObject({ amount: -12.34, amountCents: -1_234, description: 'spend', status: 'completed', currency: 'USD' });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    expect(first.body.pagination).toEqual({ page: 1, limit: 3, total: 4, pages: 2 });
    const second = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.transactions.map((x: { type: string }) => x.type)).toEqual(['initial_load']);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.pagination).toEqual({ page: null, limit: 3, total: 4, pages: 2 });
  });

  it('page by number as ASG clients do: ?page=N&limit=M, with pagination {page, limit, total, pages}', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 10_000 });
    for (let i = 1; i <= 4; i++) {
      t.clock.advanceMs(1000);
      await addLedgerEntry(t.db, { cardId: card.cardId, kind: 'fund', amountCents: i * 100, paymentId: null, description: `fund ${i}`, nowMs: t.clock.nowMs() });
    }
    const descriptions = (body: { transactions: { description: string }[] }) => body.transactions.map((x) => x.description);
    const page1 = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?page=1&limit=2`);
    expect(descriptions(page1.body)).toEqual(['fund 4', 'fund 3']);
    expect(page1.body.pagination).toEqual({ page: 1, limit: 2, total: 5, pages: 3 });
    const page2 = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?page=2&limit=2`);
    expect(descriptions(page2.body)).toEqual(['fund 2', 'fund 1']);
    expect(page2.body.pagination).toEqual({ page: 2, limit: 2, total: 5, pages: 3 });
    const page3 = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?page=3&limit=2`);
    expect(descriptions(page3.body)).toEqual(['initial load']);
    expect(page3.body.nextCursor).toBeNull();
    const beyond = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?page=9&limit=2`);
    expect(beyond.body.transactions).toEqual([]);
    expect(beyond.body.pagination).toEqual({ page: 9, limit: 2, total: 5, pages: 3 });

    for (const query of ['page=0', 'page=x', `page=2&cursor=${page1.body.nextCursor}`]) {
      const bad = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_ERROR');
    }
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'cursor=-1', 'cursor=1e3'])('rejects bad paging (%s) with 400', async (query) => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const r = await call(t, agent, 'GET', `/cards/${card.cardId}/transactions?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('VALIDATION_ERROR');
  });

  it('are 404 for a stranger', async () => {
    const t = await makeTestApp();
    const card = await seedCard(t, { agent: Keypair.random(), loadCents: 700 });
    const stranger = Keypair.random();
    expect((await call(t, stranger, 'GET', `/cards/${card.cardId}/balance`)).status).toBe(404);
    expect((await call(t, stranger, 'GET', `/cards/${card.cardId}/transactions`)).status).toBe(404);
    expect((await call(t, stranger, 'GET', `/cards/${card.cardId}/details-access`)).status).toBe(404);
  });
});

describe('public routes stay public', () => {
  it('GET /cards/tiers needs no signature and is not taken for a card id', async () => {
    const t = await makeTestApp();
    const res = await t.app.request('/cards/tiers');
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).tiers).toBeDefined();
  });
});
