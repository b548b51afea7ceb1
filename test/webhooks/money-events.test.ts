import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { systemClock } from '../../src/clock.js';
import { answer, ask, askForCard, ownerPayment } from '../helpers/approvals.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';
import { startWebhookReceiver, testDispatcher, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// Webhook events of the paths where money moves on the ledger (docs/ARCHITECTURE.md, signed
// webhooks): owner-approved cards and top-ups emit card.created / card.funded like bought ones,
// and a closed card's balance landing with its owner emits card.balance_refunded. Local ledger,
// real HTTP, a real receiver.

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function signed(harness: PaidHarness, wallet: Keypair, method: string, route: string, body?: unknown): Promise<Response> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...walletAuthHeadersV2(wallet, { method, url: route, ...(text ? { body: text } : {}) }), ...(text ? { 'content-type': 'application/json' } : {}) };
  return fetch(harness.baseUrl + route, { method, headers, ...(text ? { body: text } : {}) });
}

async function subscribe(harness: PaidHarness, wallet: Keypair, url: string, events: string[]): Promise<void> {
  const res = await signed(harness, wallet, 'POST', '/webhooks', { url, events });
  expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(201);
}

function deliverAll(harness: PaidHarness): Promise<number> {
  return testDispatcher({ ...harness, clock: systemClock }).runOnce();
}

type Delivered = { id: string; type: string; data: Record<string, unknown> };
const delivered = (r: WebhookReceiver): Delivered[] => r.received.map((x) => JSON.parse(x.body) as Delivered);

describe('webhooks where money moves on the ledger', () => {
  it('an owner-approved card and top-up emit card.created and card.funded to holder and owner', async () => {
    h = await makePaidHarness({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    const receiver = await startWebhookReceiver();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    await subscribe(h, agent, receiver.url, ['card.created', 'card.funded']);

    const first = await askForCard(h, agent);
    const created = await bodyOf(await answer(h, first.id, 'approve', first.token, await ownerPayment(h, owner, first.id, first.token)));
    expect(created.status).toBe('completed');
    const topUp = await bodyOf(await ask(h, agent, { kind: 'fund', amount: '10', cardId: created.cardId }));
    const token = new URL(topUp.approvalUrl).searchParams.get('token')!;
    const funded = await answer(h, topUp.id, 'approve', token, await ownerPayment(h, owner, topUp.id, token));
    expect(funded.status).toBe(200);

    expect(await deliverAll(h)).toBe(2);
    const events = delivered(receiver);
    expect(events.map((e) => e.type).sort()).toEqual(['card.created', 'card.funded']);
    expect(events.find((e) => e.type === 'card.created')!.data).toMatchObject({ cardId: created.cardId, status: 'active', balanceCents: 2500 });
    expect(events.find((e) => e.type === 'card.funded')!.data).toMatchObject({ cardId: created.cardId, amountCents: 1000, balanceCents: 3500 });
    expect(receiver.received.map((r) => r.body).join('\n')).not.toMatch(/cardNumber|cvv/i);
  });

  it('closing a card emits card.closed, then card.balance_refunded once the balance is on the ledger with the owner', async () => {
    h = await makePaidHarness({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    const receiver = await startWebhookReceiver();
    const agent = h.agent(100n * USDC);
    const owner = h.agent(0n);
    await subscribe(h, owner, receiver.url, ['card.closed', 'card.balance_refunded']);
    const { response } = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Webhook Close', email: 'close@example.com', ownerAddress: owner.publicKey() });
    const cardId = (await bodyOf(response)).card.cardId as string;

    const closed = await bodyOf(await signed(h, owner, 'DELETE', `/cards/${cardId}`));
    expect(closed.closure.refund).toMatchObject({ status: 'sent', amountCents: 2500 });

    expect(await deliverAll(h)).toBe(2);
    const events = delivered(receiver);
    expect(events.map((e) => e.type).sort()).toEqual(['card.balance_refunded', 'card.closed']);
    expect(events.find((e) => e.type === 'card.balance_refunded')!.data).toEqual({
      cardId,
      to: owner.publicKey(),
      amountAtomic: String(25n * USDC),
      refundTxHash: closed.closure.refund.txHash,
    });
    // Closing again sends nothing and emits nothing.
    await signed(h, owner, 'DELETE', `/cards/${cardId}`);
    expect(await deliverAll(h)).toBe(0);
  });

  it('an event nobody subscribes to leaves no outbox row', async () => {
    h = await makePaidHarness({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    const agent = h.agent(100n * USDC);
    const { response } = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Nobody Listens', email: 'quiet@example.com' });
    expect(response.status).toBe(201);
    expect(await h.db.selectFrom('webhook_events').selectAll().execute()).toEqual([]);
    // A subscriber to another type does not make this one stored either.
    const receiver = await startWebhookReceiver();
    await subscribe(h, agent, receiver.url, ['card.closed']);
    const cardId = (await bodyOf(response)).card.cardId as string;
    expect((await signed(h, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    expect(await h.db.selectFrom('webhook_events').selectAll().execute()).toEqual([]);
  });
});
