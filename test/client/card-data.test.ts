import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { Card402Client, openSecrets } from '../../src/client/card402-client.js';
import type { CardDetails } from '../../src/cards/card-data.js';
import { makeTestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';

function answered(details: CardDetails) {
  const a = details.billingAddress;
  return { ...details, billingAddress: { ...a, street: a.line1, zip: a.postalCode } };
}

/** The SDK over real HTTP against an in-process app whose clock is now (signatures carry real time). */
async function setup() {
  const t = await makeTestApp();
  t.clock.set(Date.now());
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  const seen: { path: string; headers: Record<string, string>; body: string }[] = [];
  const baseUrl = await listen(t.app);
  const recordingFetch = async (input: string, init: RequestInit) => {
    const res = await fetch(input, init);
    const copy = res.clone();
    seen.push({ path: new URL(input).pathname, headers: init.headers as Record<string, string>, body: await copy.text() });
    return res;
  };
  const client = new Card402Client({ baseUrl, signer: agent, fetch: recordingFetch });
  return { t, agent, card, client, seen, baseUrl };
}

describe('SDK: card data paths', () => {
  it('getDetails is sealed by default: the wire carries no card number, the SDK opens it', async () => {
    const { card, client, seen } = await setup();
    expect(await client.getDetails(card.cardId)).toEqual({ details: answered(card.details) });
    const wire = seen.at(-1)!;
    expect(wire.headers['X-AGENT-PUBKEY']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(wire.body).not.toContain(card.details.cardNumber);
    expect(JSON.parse(wire.body)).toHaveProperty('sealed');
    // Plain on request, as ASG clients read it.
    expect(await client.getDetails(card.cardId, { sealed: false })).toEqual({ details: answered(card.details) });
    expect(seen.at(-1)!.body).toContain(card.details.cardNumber);
  });

  it('card sessions: create, redeem with the token alone (sealed), get, redemptions', async () => {
    const { card, client, seen, baseUrl } = await setup();
    const created = await client.createCardSession(card.cardId, { ttlSeconds: 60, maxRedeemCount: 2 });
    expect(created.session).toMatchObject({ cardId: card.cardId, status: 'active', maxRedeemCount: 2 });

    // Whoever holds the token redeems: no wallet at all.
    const holder = new Card402Client({ baseUrl, fetch: (input, init) => fetch(input, init).then(async (res) => { seen.push({ path: new URL(input).pathname, headers: init.headers as Record<string, string>, body: await res.clone().text() }); return res; }) });
    const redeemed = await holder.redeemCardSession(created.session.id, created.redeemToken);
    expect(redeemed.details).toEqual(answered(card.details));
    expect(redeemed.session.redeemCount).toBe(1);
    expect(seen.at(-1)!.body).not.toContain(card.details.cardNumber);

    expect((await client.getCardSession(created.session.id)).session.redeemCount).toBe(1);
    expect((await client.cardSessionRedemptions(created.session.id)).redemptions).toEqual([{ id: expect.any(String), ipAddress: expect.any(String), redeemedAt: expect.any(String) }]);
    const plain = await holder.redeemCardSession(created.session.id, created.redeemToken, { sealed: false });
    expect(plain.session.status).toBe('redeemed');
    await expect(holder.redeemCardSession(created.session.id, created.redeemToken)).rejects.toMatchObject({ status: 409, code: 'CARD_SESSION_NOT_REDEEMABLE' });
  });

  it('secrets: readSecrets decrypts locally; the wire carries only ciphertext', async () => {
    const { card, client, seen } = await setup();
    expect(await client.readSecrets(card.cardId)).toEqual({
      cardNumber: card.details.cardNumber,
      cvv: card.details.cvv,
      expiryMonth: card.details.expiryMonth,
      expiryYear: card.details.expiryYear,
      last4: card.details.cardNumber.slice(-4),
    });
    expect(seen.at(-1)!.body).not.toContain(card.details.cardNumber);
    const session = await client.createSecretsSession();
    const secrets = await client.cardSecrets(card.cardId, session.sessionId);
    expect(() => openSecrets('00'.repeat(16), secrets)).toThrow(/do not open/);
  });
});
