import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';
import { startWebhookReceiver, testDispatcher } from '../helpers/webhook-receiver.js';
import { charge, makeSpendApp, signed } from '../spend/helpers.js';

// The events of cards that spend and close (docs/ARCHITECTURE.md, signed webhooks): written in the
// transaction of the decision or the closing, delivered to the card's wallets.
describe('webhooks: authorizations and closing', () => {
  it('an approved and a declined authorization, then the closing, each reach the holder as an event', async () => {
    const t = await makeSpendApp({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    const receiver = await startWebhookReceiver();
    const agent = Keypair.random();
    const events = ['authorization.approved', 'authorization.declined', 'card.closed'];
    const res = await signedRequest(t, agent, 'POST', '/webhooks', { body: JSON.stringify({ url: receiver.url, events }), headers: { 'content-type': 'application/json' } });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(201);
    const card = await seedCard(t, { agent, loadCents: 2_000 });

    const approved = await charge(t, card, '12.50');
    expect(approved.body.authorization.status).toBe('approved');
    const declined = await charge(t, card, '50');
    expect(declined.body.authorization).toMatchObject({ status: 'declined', declineReason: 'insufficient_funds' });
    const closed = await signed(t, agent, 'DELETE', `/cards/${card.cardId}`);
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);

    const dispatcher = testDispatcher({ ...t, cipher: t.deps.cardCipher });
    expect(await dispatcher.runOnce()).toBe(3);
    const got = receiver.received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    expect(got.map((e) => e.type).sort()).toEqual(['authorization.approved', 'authorization.declined', 'card.closed']);
    expect(got.find((e) => e.type === 'authorization.approved')!.data).toMatchObject({ cardId: card.cardId, authorizationId: approved.body.authorization.id, amountCents: 1250 });
    expect(got.find((e) => e.type === 'authorization.declined')!.data).toMatchObject({ amountCents: 5000, declineReason: 'insufficient_funds' });
    // Closing releases the pending hold, so the whole $20 is owed back to the owner.
    expect(got.find((e) => e.type === 'card.closed')!.data).toMatchObject({ cardId: card.cardId, closedBy: agent.publicKey(), refund: { amountCents: 2000 } });
    // No card data in any event.
    const raw = receiver.received.map((r) => r.body).join('\n');
    expect(raw).not.toContain(card.details.cardNumber);
  });
});
