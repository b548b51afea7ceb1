import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';

async function call(t: TestApp, kp: Keypair, method: string, path: string, headers: Record<string, string> = {}) {
  const res = await signedRequest(t, kp, method, path, { headers });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text), headers: res.headers };
}

describe('DELETE /cards/:cardId (without a treasury: the zero-balance and refusal paths)', () => {
  it('the owner closes a card with no balance: closed, nothing to send, and GET shows the closure', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const { cardId } = await seedCard(t, { agent, owner });

    const closed = await call(t, owner, 'DELETE', `/cards/${cardId}`);
    expect(closed.status, closed.text).toBe(200);
    const closure = {
      closedAt: new Date(t.clock.nowMs()).toISOString(),
      closedBy: owner.publicKey(),
      refund: { status: 'none', amount: 0, amountCents: 0, amountAtomic: '0', to: owner.publicKey(), txHash: null },
    };
    expect(closed.body).toEqual({ success: true, cardId, status: 'closed', closure });

    const read = await call(t, agent, 'GET', `/cards/${cardId}`);
    expect(read.body.card).toMatchObject({ status: 'closed', balanceCents: 0, closure });
    const list = await call(t, agent, 'GET', '/cards');
    expect(list.body.cards[0]).toMatchObject({ cardId, status: 'closed' });
  });

  it('the holder is refused 403 OWNER_ONLY (the owner role is needed); a stranger gets 404; neither closes it', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const { cardId } = await seedCard(t, { agent, owner, loadCents: 2_500 });

    const byHolder = await call(t, agent, 'DELETE', `/cards/${cardId}`);
    expect(byHolder.status, byHolder.text).toBe(403);
    expect(byHolder.body).toEqual({ error: expect.stringMatching(/owner role is needed/), code: 'OWNER_ONLY' });
    const byStranger = await call(t, Keypair.random(), 'DELETE', `/cards/${cardId}`);
    expect(byStranger.status).toBe(404);
    expect(byStranger.body.code).toBe('CARD_NOT_FOUND');
    const unknown = await call(t, owner, 'DELETE', `/cards/${randomUUID()}`);
    expect(unknown.status).toBe(404);

    const read = await call(t, owner, 'GET', `/cards/${cardId}`);
    expect(read.body.card).toMatchObject({ status: 'active', balanceCents: 2_500 });
    expect(read.body.card.closure).toBeUndefined();
  });

  it('when the holder is the owner (no ownerAddress given), the holder closes it', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent });
    expect((await call(t, agent, 'DELETE', `/cards/${cardId}`)).status).toBe(200);
  });

  it('after closing, every change and details read is 409 CARD_CLOSED; reads still work', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const { cardId } = await seedCard(t, { agent, owner });
    expect((await call(t, owner, 'DELETE', `/cards/${cardId}`)).status).toBe(200);

    for (const [kp, path] of [
      [agent, 'freeze'],
      [owner, 'unfreeze'],
      [owner, 'revoke-details'],
      [owner, 'restore-details'],
    ] as const) {
      const res = await call(t, kp, 'POST', `/cards/${cardId}/${path}`);
      expect(res.status, `${path}: ${res.text}`).toBe(409);
      expect(res.body.code).toBe('CARD_CLOSED');
    }
    const details = await call(t, agent, 'GET', `/cards/${cardId}/details`, { 'X-AGENT-NONCE': randomUUID() });
    expect(details.status, details.text).toBe(409);
    expect(details.body).toEqual({ error: expect.any(String), code: 'CARD_CLOSED' });
    expect(details.text).not.toMatch(/cardNumber|cvv/);

    expect((await call(t, agent, 'GET', `/cards/${cardId}/balance`)).body.balanceCents).toBe(0);
    expect((await call(t, agent, 'GET', `/cards/${cardId}/transactions`)).status).toBe(200);
  });

  it('closing twice answers the same closure and moves nothing again; a holder still cannot close a closed card', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const { cardId } = await seedCard(t, { agent, owner });
    const first = await call(t, owner, 'DELETE', `/cards/${cardId}`);
    t.clock.advanceMs(5_000);
    const second = await call(t, owner, 'DELETE', `/cards/${cardId}`);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect((await call(t, agent, 'DELETE', `/cards/${cardId}`)).status).toBe(403);
    expect(await t.db.selectFrom('card_closures').selectAll().execute()).toHaveLength(1);
  });

  it('with a balance and no treasury configured: closed, the balance leaves the card, the refund stays pending (recorded, logged)', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent, loadCents: 1_234 });
    const closed = await call(t, agent, 'DELETE', `/cards/${cardId}`);
    expect(closed.status, closed.text).toBe(200);
    expect(closed.body.closure.refund).toEqual({ status: 'pending', amount: 12.34, amountCents: 1_234, amountAtomic: '123400000', to: agent.publicKey(), txHash: null });
    const tx = await call(t, agent, 'GET', `/cards/${cardId}/transactions`);
    expect(tx.body.transactions[0]).toMatchObject({ type: 'closure', amountCents: -1_234 });
    expect((await call(t, agent, 'GET', `/cards/${cardId}/balance`)).body.balanceCents).toBe(0);
    expect(t.logs.join('\n')).toMatch(/owes its balance/);
  });

  it('takes an Idempotency-Key: the same key replays the first answer byte for byte', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent, loadCents: 700 });
    const key = randomUUID();
    const first = await call(t, agent, 'DELETE', `/cards/${cardId}`, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    t.clock.advanceMs(1_000);
    const again = await call(t, agent, 'DELETE', `/cards/${cardId}`, { 'Idempotency-Key': key });
    expect(again.text).toBe(first.text);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
  });
});
