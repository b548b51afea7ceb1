import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { centsToAtomic } from '../../src/protocol/money/units.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import { answer, ask, askForCard, ownerPayment, poll } from '../helpers/approvals.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

/** $25 load + $10 card fee + 3.5% of $25 ($0.88) = $35.88. */
const PRICE_CENTS = 3588;
const PRICE = centsToAtomic(PRICE_CENTS);

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(env: Record<string, string> = {}): Promise<PaidHarness> {
  h = await makePaidHarness({ env });
  return h;
}

async function requestRows(harness: PaidHarness) {
  return harness.db.selectFrom('payment_requests').selectAll().execute();
}

describe('POST /payment-requests (the agent asks)', () => {
  it('answers 201 approval_required with the exact price, an approval URL and an expiry; stores the token only as a hash', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const before = Date.now();
    const { created, token, id } = await askForCard(h, agent, { note: 'for the conference' });
    const after = Date.now();
    expect(created).toEqual({
      id: expect.stringMatching(/^pr_[0-9a-f]{32}$/),
      status: 'approval_required',
      kind: 'create',
      price: { amountAtomic: PRICE.toString(), amount: '35.88', totalCents: PRICE_CENTS, loadCents: 2500, cardFeeCents: 1000, topUpFeeCents: 88, currency: 'USDC' },
      approvalUrl: `http://card402.test/approve/${id}?token=${token}`,
      expiresAt: expect.any(String),
    });
    // 24 hours by default, from a moment between sending and answering.
    const expiresAtMs = Date.parse(created.expiresAt);
    expect(expiresAtMs).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(expiresAtMs).toBeLessThanOrEqual(after + 86_400_000 + 1000);
    const rows = await requestRows(h);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(token);
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(h.logs.join('\n')).not.toContain(token);
  });

  it('expires after PAYMENT_REQUEST_TTL_SECONDS', async () => {
    const h = await harness({ PAYMENT_REQUEST_TTL_SECONDS: '600' });
    const before = Date.now();
    const { created } = await askForCard(h, h.agent(0n));
    const after = Date.now();
    expect(Date.parse(created.expiresAt)).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(Date.parse(created.expiresAt)).toBeLessThanOrEqual(after + 600_000 + 1000);
  });

  it.each([
    ['an unknown kind', { kind: 'buy', amount: '25' }, 400, 'VALIDATION_ERROR'],
    ['an amount out of range', { kind: 'create', amount: '1', nameOnCard: 'Ada', email: 'ada@example.com' }, 400, 'INVALID_AMOUNT'],
    ['an amount with three decimals', { kind: 'fund', amount: '5.001', cardId: '00000000-0000-4000-8000-000000000000' }, 400, 'INVALID_AMOUNT'],
    ['a bad email', { kind: 'create', amount: '25', nameOnCard: 'Ada', email: 'nope' }, 400, 'VALIDATION_ERROR'],
    ['a bad owner address', { kind: 'create', amount: '25', nameOnCard: 'Ada', email: 'ada@example.com', ownerAddress: 'GABC' }, 400, 'VALIDATION_ERROR'],
    ['a note with control characters', { kind: 'create', amount: '25', nameOnCard: 'Ada', email: 'ada@example.com', note: 'hi\u001b[2J' }, 400, 'VALIDATION_ERROR'],
    ['an unknown field', { kind: 'create', amount: '25', nameOnCard: 'Ada', email: 'ada@example.com', cardId: 'x' }, 400, 'VALIDATION_ERROR'],
    ['funding an unknown card', { kind: 'fund', amount: '25', cardId: '00000000-0000-4000-8000-000000000000' }, 404, 'CARD_NOT_FOUND'],
  ])('refuses %s before storing anything', async (_label, body, status, code) => {
    const h = await harness();
    const response = await ask(h, h.agent(0n), body);
    const answerBody = await bodyOf(response);
    expect(response.status, JSON.stringify(answerBody)).toBe(status);
    expect(answerBody.code).toBe(code);
    expect(await requestRows(h)).toHaveLength(0);
  });

  it('needs the agent’s wallet signature', async () => {
    const h = await harness();
    const response = await fetch(`${h.baseUrl}/payment-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'create', amount: '25', nameOnCard: 'Ada', email: 'ada@example.com' }),
    });
    expect(response.status).toBe(401);
    const signedByOther = walletAuthHeadersV2(Keypair.random(), { method: 'POST', url: '/payment-requests', body: '{}' });
    const forged = await fetch(`${h.baseUrl}/payment-requests`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedByOther }, body: '{"kind":"create"}' });
    expect(forged.status).toBe(401);
    expect(await requestRows(h)).toHaveLength(0);
  });
});

describe('GET /payment-requests/:id (the agent polls)', () => {
  it('shows the agent its request; another agent, an unknown id and an unsigned call learn nothing', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const { id } = await askForCard(h, agent);
    const mine = await poll(h, agent, id);
    expect(mine.status).toBe(200);
    expect(await bodyOf(mine)).toMatchObject({
      id,
      kind: 'create',
      status: 'pending',
      agentAddress: agent.publicKey(),
      ownerAddress: null,
      approverAddress: null,
      requested: { nameOnCard: 'Ada Agent', email: 'ada@example.com' },
      paymentId: null,
      card: null,
    });
    const other = await poll(h, Keypair.random(), id);
    expect(other.status).toBe(404);
    expect((await bodyOf(other)).code).toBe('PAYMENT_REQUEST_NOT_FOUND');
    expect((await poll(h, agent, 'pr_' + '0'.repeat(32))).status).toBe(404);
    expect((await poll(h, agent, 'nope')).status).toBe(404);
    expect((await fetch(`${h.baseUrl}/payment-requests/${id}`)).status).toBe(401);
  });
});

describe('the owner reads the request with the token alone', () => {
  it('GET …/approval?token= shows what is asked, the exact price and where it goes; any other token is 404', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const { id, token } = await askForCard(h, agent, { note: 'conference' });
    const response = await fetch(`${h.baseUrl}/payment-requests/${id}/approval?token=${token}`);
    expect(response.status).toBe(200);
    expect(await bodyOf(response)).toMatchObject({
      id,
      status: 'pending',
      agentAddress: agent.publicKey(),
      price: { amountAtomic: PRICE.toString(), amount: '35.88' },
      payTo: h.keys.treasury.publicKey(),
      network: 'stellar:testnet',
      asset: h.config.stellar.usdcContract,
      requested: { nameOnCard: 'Ada Agent', email: 'ada@example.com' },
      note: 'conference',
    });
    const other = await askForCard(h, agent);
    // One character changed where all of its bits count (the last of 43 carries padding bits, and may already be an A).
    const altered = `${token[0] === 'A' ? 'B' : 'A'}${token.slice(1)}`;
    for (const query of [`token=${other.token}`, `token=${altered}`, 'token=short', '']) {
      const refused = await fetch(`${h.baseUrl}/payment-requests/${id}/approval?${query}`);
      expect(refused.status, query).toBe(404);
      expect(JSON.stringify(await bodyOf(refused))).not.toContain('Ada');
    }
  });
});

describe('approving: the owner pays exactly the quoted price and the agent gets the card', () => {
  it('402 → payment → completed: the agent holds the card, the approving wallet owns it, the owner paid exactly the price', async () => {
    const h = await harness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);

    const challenge = await answer(h, id, 'approve', token);
    expect(challenge.status).toBe(402);
    const required = await bodyOf(challenge);
    expect(required.accepts[0]).toMatchObject({ scheme: 'exact', amount: PRICE.toString(), payTo: h.keys.treasury.publicKey() });
    expect(required.resource.url).toBe(`http://card402.test/payment-requests/${id}/approval`);

    const payment = await ownerPayment(h, owner, id, token);
    const paid = await answer(h, id, 'approve', token, payment);
    const body = await bodyOf(paid);
    expect(paid.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ success: true, id, status: 'completed', cardId: expect.any(String), payment: { amountCharged: 35.88 } });
    expect(JSON.stringify(body)).not.toMatch(/cardNumber|cvv/i);
    expect(decodeJsonHeader<{ payer: string }>(paid.headers.get('PAYMENT-RESPONSE')!).payer).toBe(owner.publicKey());
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(0n);

    const polled = await bodyOf(await poll(h, agent, id));
    expect(polled).toMatchObject({
      status: 'completed',
      approverAddress: owner.publicKey(),
      paymentStatus: 'fulfilled',
      txHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      cardId: body.cardId,
      card: { cardId: body.cardId, nameOnCard: 'Ada Agent', balanceCents: 2500, ownerAddress: owner.publicKey() },
    });
    const card = await h.db.selectFrom('cards').selectAll().where('id', '=', body.cardId).executeTakeFirstOrThrow();
    expect({ holder: card.agent_address, owner: card.owner_address }).toEqual({ holder: agent.publicKey(), owner: owner.publicKey() });
    // Like any card, it is known to the sandbox card network (by HMACs of its data).
    expect(await h.db.selectFrom('card_network_index').select('card_id').where('card_id', '=', body.cardId).execute()).toHaveLength(1);

    // The agent, the card's holder, reads the card data with its own wallet.
    const detailsRoute = `/cards/${body.cardId}/details`;
    const details = await fetch(h.baseUrl + detailsRoute, {
      headers: { ...walletAuthHeadersV2(agent, { method: 'GET', url: detailsRoute }), 'X-AGENT-NONCE': crypto.randomUUID() },
    });
    expect(details.status).toBe(200);

    // The same payment again: the first answer; no second card, no second charge.
    const replay = await answer(h, id, 'approve', token, payment);
    expect(replay.status).toBe(200);
    expect(await bodyOf(replay)).toEqual(body);
    // The link is answered: no new challenge, no rejection.
    expect((await answer(h, id, 'approve', token)).status).toBe(409);
    const late = await answer(h, id, 'reject', token);
    expect(late.status).toBe(409);
    expect(await bodyOf(late)).toMatchObject({ code: 'PAYMENT_REQUEST_CLOSED', status: 'completed' });
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(1);
    await expectNothingLost(h, treasury);
  });

  it('the same approval submitted 20 times at once: one card, one charge', async () => {
    const h = await harness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);
    const payment = await ownerPayment(h, owner, id, token);
    const responses = await Promise.all(Array.from({ length: 20 }, () => answer(h!, id, 'approve', token, payment)));
    const statuses = responses.map((r) => r.status);
    // Each copy is answered with the card or "in progress" (a replay of the copy being settled).
    for (const status of statuses) expect([200, 409]).toContain(status);
    expect(statuses).toContain(200);
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(1);
    expect(await h.db.selectFrom('payments').select('id').execute()).toHaveLength(1);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE);
    expect((await bodyOf(await poll(h, agent, id))).status).toBe('completed');
    await expectNothingLost(h, treasury);
  });

  it('different payments for one request at once: one is taken, the others are refused before anything is sent', async () => {
    const h = await harness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owners = [h.agent(100n * USDC), h.agent(100n * USDC), h.agent(100n * USDC)];
    const { id, token } = await askForCard(h, agent);
    const payments = await Promise.all(owners.map((owner) => ownerPayment(h!, owner, id, token)));
    const responses = await Promise.all(payments.map((payment) => answer(h!, id, 'approve', token, payment)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    const charged = owners.filter((owner) => h!.localnet.usdcBalance(owner.publicKey()) !== 100n * USDC);
    expect(charged).toHaveLength(1);
    expect(h.localnet.usdcBalance(charged[0]!.publicKey())).toBe(100n * USDC - PRICE);
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(1);
    expect((await bodyOf(await poll(h, agent, id))).approverAddress).toBe(charged[0]!.publicKey());
    await expectNothingLost(h, treasury);
  });

  it('a payment for another amount is refused: exactly the quoted price', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);
    const cheaper = await askForCard(h, agent, { amount: '5' });
    // A payment made for the $15.18 request, sent to the $35.88 one.
    const payment = await ownerPayment(h, owner, cheaper.id, cheaper.token);
    const response = await answer(h, id, 'approve', token, payment);
    expect(response.status).toBe(402);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
    expect((await bodyOf(await poll(h, agent, id))).status).toBe('pending');
  });

  it('a request naming its owner is paid by that wallet only', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const stranger = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent, { ownerAddress: owner.publicKey() });
    const prepared = await fetch(`${h.baseUrl}/payment-requests/${id}/approval/prepare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, payer: stranger.publicKey() }),
    });
    expect(prepared.status).toBe(403);
    expect((await bodyOf(prepared)).code).toBe('WRONG_PAYER');
    const strangers = await answer(h, id, 'approve', token, await ownerPayment(h, stranger, id, token));
    expect(strangers.status).toBe(409);
    expect(h.localnet.usdcBalance(stranger.publicKey())).toBe(100n * USDC);
    const owners = await answer(h, id, 'approve', token, await ownerPayment(h, owner, id, token));
    expect(owners.status).toBe(200);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE);
  });

  it('funds the agent’s card: a top-up request approved by the owner', async () => {
    const h = await harness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const first = await askForCard(h, agent);
    const created = await bodyOf(await answer(h, first.id, 'approve', first.token, await ownerPayment(h, owner, first.id, first.token)));
    const response = await ask(h, agent, { kind: 'fund', amount: '10', cardId: created.cardId });
    const topUp = await bodyOf(response);
    expect(response.status, JSON.stringify(topUp)).toBe(201);
    expect(topUp.price).toMatchObject({ totalCents: 1035, loadCents: 1000 });
    const { id, token } = { id: topUp.id, token: new URL(topUp.approvalUrl).searchParams.get('token')! };
    const funded = await answer(h, id, 'approve', token, await ownerPayment(h, owner, id, token));
    expect(funded.status).toBe(200);
    expect(await bodyOf(await poll(h, agent, id))).toMatchObject({ status: 'completed', cardId: created.cardId, card: { balanceCents: 3500 } });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE - centsToAtomic(1035));
    // Another agent cannot ask anyone to fund this card.
    const stranger = await ask(h, h.agent(0n), { kind: 'fund', amount: '10', cardId: created.cardId });
    expect(stranger.status).toBe(404);
    // A closed card takes no money: a pending top-up of it is refused before any 402, and no new one is asked.
    const pendingTopUp = await bodyOf(await ask(h, agent, { kind: 'fund', amount: '10', cardId: created.cardId }));
    await h.db.updateTable('cards').set({ status: 'closed' }).where('id', '=', created.cardId).execute();
    const pendingToken = new URL(pendingTopUp.approvalUrl).searchParams.get('token')!;
    const refused = await answer(h, pendingTopUp.id, 'approve', pendingToken);
    expect(refused.status).toBe(409);
    expect((await bodyOf(refused)).code).toBe('CARD_CLOSED');
    const closedAsk = await ask(h, agent, { kind: 'fund', amount: '10', cardId: created.cardId });
    expect(closedAsk.status).toBe(409);
    expect((await bodyOf(closedAsk)).code).toBe('CARD_CLOSED');
    await expectNothingLost(h, treasury);
  });
});

describe('rejected, expired and failed requests', () => {
  it('rejected: the agent sees it, and it can never be paid (not even with a payment signed before)', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);
    const signedBefore = await ownerPayment(h, owner, id, token);
    const wrongToken = await answer(h, id, 'reject', (await askForCard(h, agent)).token);
    expect(wrongToken.status).toBe(404);
    const rejected = await answer(h, id, 'reject', token);
    expect(rejected.status).toBe(200);
    expect(await bodyOf(rejected)).toEqual({ success: true, id, status: 'rejected' });
    expect((await bodyOf(await poll(h, agent, id))).status).toBe('rejected');
    const paid = await answer(h, id, 'approve', token, signedBefore);
    expect(paid.status).toBe(409);
    expect(await bodyOf(paid)).toMatchObject({ code: 'PAYMENT_REQUEST_CLOSED', status: 'rejected' });
    expect((await answer(h, id, 'reject', token)).status).toBe(409);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
    expect(await h.db.selectFrom('payments').select('id').execute()).toHaveLength(0);
  });

  it('expired: shown as expired, and neither payable nor rejectable', async () => {
    const h = await harness();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);
    const signedBefore = await ownerPayment(h, owner, id, token);
    // Time passes: the request's expiry is behind us.
    await h.db.updateTable('payment_requests').set({ expires_at: Date.now() - 1 }).where('id', '=', id).execute();
    expect((await bodyOf(await poll(h, agent, id))).status).toBe('expired');
    const view = await fetch(`${h.baseUrl}/payment-requests/${id}/approval?token=${token}`);
    expect((await bodyOf(view)).status).toBe('expired');
    for (const response of [await answer(h, id, 'approve', token, signedBefore), await answer(h, id, 'approve', token), await answer(h, id, 'reject', token)]) {
      expect(response.status).toBe(409);
      expect(await bodyOf(response)).toMatchObject({ code: 'PAYMENT_REQUEST_CLOSED', status: 'expired' });
    }
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
  });

  it('failed: a card that cannot be issued is refunded on-chain to the owner, and the request shows failed', async () => {
    const h = await harness({ FULFIL_MAX_ATTEMPTS: '2' });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const { id, token } = await askForCard(h, agent);
    h.issuer.failNext('issue', 100);
    const response = await answer(h, id, 'approve', token, await ownerPayment(h, owner, id, token));
    expect(response.status).toBe(502);
    expect((await bodyOf(await poll(h, agent, id))).status).toBe('approved');
    for (let i = 0; i < 3; i++) await h.stack.service.reconcile();
    const polled = await bodyOf(await poll(h, agent, id));
    expect(polled).toMatchObject({ status: 'failed', paymentStatus: 'refunded', refundTxHash: expect.stringMatching(/^[0-9a-f]{64}$/), card: null });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
    expect((await answer(h, id, 'approve', token)).status).toBe(409);
    await expectNothingLost(h, treasury);
  });
});
