import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';
import { seedCard } from '../helpers/wallet.js';
import { ACME, charge, chargeBody, funds, makeSpendApp, post, signed } from './helpers.js';

async function setup(loadCents = 10_000, env: Record<string, string> = {}) {
  const t = await makeSpendApp({ env });
  const agent = Keypair.random();
  const card = await seedCard(t, { agent, loadCents });
  return { t, agent, card };
}

describe('sandbox authorizations', () => {
  it('approves within the balance and holds the amount: available = loads − holds, held shown', async () => {
    const { t, agent, card } = await setup();
    const r = await charge(t, card, '12.50');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.authorization).toEqual({
      id: expect.any(String),
      status: 'approved',
      amount: 12.5,
      amountCents: 1250,
      currency: 'USD',
      merchant: ACME,
      state: 'pending',
      heldCents: 1250,
      capturedCents: 0,
      refundedCents: 0,
      expiresAt: new Date(t.clock.nowMs() + 7 * 86_400_000).toISOString(),
      createdAt: new Date(t.clock.nowMs()).toISOString(),
    });
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 8750, heldCents: 1250 });
    const summary = await signed(t, agent, 'GET', `/cards/${card.cardId}`);
    expect(summary.body.card).toMatchObject({ balance: 87.5, balanceCents: 8750, held: 12.5, heldCents: 1250 });
    const list = await signed(t, agent, 'GET', '/cards');
    expect(list.body.cards[0]).toMatchObject({ balanceCents: 8750, heldCents: 1250 });
  });

  it('takes the amount as a dollar string or number, exactly; anything else is 400 naming the field', async () => {
    const { t, agent, card } = await setup();
    expect((await charge(t, card, 0.1)).body.authorization.amountCents).toBe(10);
    expect((await charge(t, card, '19.99')).body.authorization.amountCents).toBe(1999);
    for (const bad of ['12.345', '-1', '0', 0, '1e3', 'abc', 12.345, '', ' 5']) {
      const r = await charge(t, card, bad);
      expect(r.status, `${JSON.stringify(bad)} → ${JSON.stringify(r.body)}`).toBe(400);
      expect(r.body.code).toBe('VALIDATION_ERROR');
      expect(r.body.issues[0].path).toBe('amount');
    }
    const noMerchant = await post(t, '/sandbox/authorizations', { ...chargeBody(card, 1), merchant: { ...ACME, mcc: '57' } });
    expect(noMerchant.body.issues[0].path).toBe('merchant.mcc');
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 10_000 - 10 - 1999, heldCents: 2009 });
  });

  it('captures part of a hold (the rest goes back), refunds up to the captured amount, and refuses what the state forbids', async () => {
    const { t, agent, card } = await setup();
    const id = (await charge(t, card, 50)).body.authorization.id;
    const over = await post(t, `/sandbox/authorizations/${id}/capture`, { amount: '50.01' });
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ code: 'INVALID_AMOUNT', field: 'amount', maxCents: 5000 });

    const captured = await post(t, `/sandbox/authorizations/${id}/capture`, { amount: '30' });
    expect(captured.status, JSON.stringify(captured.body)).toBe(200);
    expect(captured.body.authorization).toMatchObject({ state: 'captured', heldCents: 0, capturedCents: 3000 });
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 7000, heldCents: 0 });

    expect((await post(t, `/sandbox/authorizations/${id}/capture`)).body).toMatchObject({ code: 'AUTHORIZATION_STATE', state: 'captured' });
    expect((await post(t, `/sandbox/authorizations/${id}/reverse`)).status).toBe(409);
    expect((await post(t, `/sandbox/authorizations/${id}/refund`, { amount: 10 })).body.authorization).toMatchObject({ refundedCents: 1000 });
    const tooMuch = await post(t, `/sandbox/authorizations/${id}/refund`, { amount: '20.01' });
    expect(tooMuch.body).toMatchObject({ code: 'INVALID_AMOUNT', maxCents: 2000 });
    expect((await post(t, `/sandbox/authorizations/${id}/refund`, { amount: 20 })).status).toBe(200);
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 10_000, heldCents: 0 });
    expect((await post(t, `/sandbox/authorizations/${id}/refund`, { amount: '0.01' })).status).toBe(400);
    expect((await post(t, `/sandbox/authorizations/${id}/refund`, {})).body.issues[0].path).toBe('amount');
  });

  it('a full capture without an amount takes the hold; a reversal gives the hold back; a declined one cannot be captured', async () => {
    const { t, agent, card } = await setup();
    const a = (await charge(t, card, 20)).body.authorization.id;
    const b = (await charge(t, card, 30)).body.authorization.id;
    expect((await post(t, `/sandbox/authorizations/${a}/capture`)).body.authorization.capturedCents).toBe(2000);
    expect((await post(t, `/sandbox/authorizations/${b}/reverse`)).body.authorization).toMatchObject({ state: 'reversed', heldCents: 0 });
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 8000, heldCents: 0 });
    const declined = (await charge(t, card, 1000)).body.authorization;
    expect(declined).toMatchObject({ status: 'declined', declineReason: 'insufficient_funds' });
    expect((await post(t, `/sandbox/authorizations/${declined.id}/capture`)).body).toMatchObject({ code: 'AUTHORIZATION_STATE', state: 'declined' });
    expect((await post(t, `/sandbox/authorizations/${randomUUID()}/capture`)).status).toBe(404);
    expect((await post(t, `/sandbox/authorizations/not-a-uuid/reverse`)).status).toBe(404);
  });

  it('declines with a reason from the closed set', async () => {
    const { t, agent, card } = await setup(1000);
    expect((await charge(t, card, '10.01')).body.authorization).toMatchObject({ status: 'declined', declineReason: 'insufficient_funds' });
    expect((await charge(t, card, 5, { currency: 'EUR' })).body.authorization.declineReason).toBe('currency_not_supported');
    expect((await charge(t, card, 10)).body.authorization.status).toBe('approved');
    expect((await charge(t, card, '0.01')).body.authorization.declineReason).toBe('insufficient_funds');
    await signed(t, agent, 'POST', `/cards/${card.cardId}/freeze`);
    expect((await charge(t, card, 1)).body.authorization.declineReason).toBe('card_frozen');
    // Declines hold nothing.
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 0, heldCents: 1000 });
  });

  it('card data that matches no card is card_invalid, whatever part is wrong; nothing about the card leaks', async () => {
    const { t, card } = await setup();
    const d = card.details;
    const wrong = [
      { cvv: d.cvv === '999' ? '998' : '999' },
      { expiryMonth: d.expiryMonth === 12 ? 1 : d.expiryMonth + 1 },
      { expiryYear: d.expiryYear + 1 },
      { cardNumber: '4000000000000002' },
    ];
    for (const change of wrong) {
      const r = await charge(t, card, 1, change);
      expect(r.status).toBe(201);
      expect(r.body.authorization).toMatchObject({ status: 'declined', declineReason: 'card_invalid' });
      expect(JSON.stringify(r.body)).not.toContain(d.cardNumber);
    }
  });

  it('refuses an IP after too many card_invalid attempts (429 before any lookup), others still pass', async () => {
    const { t, card } = await setup(10_000, { SANDBOX_CARD_FAILURES_PER_IP: '3', SANDBOX_CARD_FAILURE_WINDOW_SECONDS: '60' });
    for (let i = 0; i < 3; i++) expect((await charge(t, card, 1, { cvv: '0000' })).body.authorization.declineReason).toBe('card_invalid');
    const blocked = await charge(t, card, 1);
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('RATE_LIMITED');
    expect(blocked.headers.get('retry-after')).toBe('60');
    t.clock.advanceMs(60_000);
    expect((await charge(t, card, 1)).body.authorization.status).toBe('approved');
  });

  it('an expired card (its own expiry month is over) is card_expired', async () => {
    const { t, card } = await setup();
    t.clock.set(Date.UTC(card.details.expiryYear, card.details.expiryMonth, 1));
    expect((await charge(t, card, 1)).body.authorization.declineReason).toBe('card_expired');
  });

  it('holds expire after the configured time: counted released at once, captured never, swept into the record', async () => {
    const { t, agent, card } = await setup(10_000, { AUTHORIZATION_HOLD_SECONDS: '3600' });
    const first = (await charge(t, card, 40)).body.authorization;
    const second = (await charge(t, card, 10)).body.authorization;
    expect(first.expiresAt).toBe(new Date(t.clock.nowMs() + 3_600_000).toISOString());
    t.clock.advanceMs(3_600_000);
    // Lazily: the balance already counts both released before any sweep.
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 10_000, heldCents: 0 });
    // A capture of an expired hold is refused, and records the expiry.
    expect((await post(t, `/sandbox/authorizations/${first.id}/capture`)).body).toMatchObject({ code: 'AUTHORIZATION_STATE', state: 'expired' });
    // The sweep releases the other.
    const spending = t.deps.spending!;
    expect(await spending.expireDue()).toBe(1);
    expect(await spending.expireDue()).toBe(0);
    expect((await spending.getAuthorization(second.id)).status).toBe('expired');
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 10_000, heldCents: 0 });
    const tx = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions`);
    expect(tx.body.transactions.map((x: { type: string }) => x.type)).toEqual(['expiry', 'expiry', 'authorization', 'authorization', 'initial_load']);
  });

  it('an authorization releases the card\'s due holds first (recorded as expiries), so a window limit no longer counts them; none when none is due', async () => {
    const { t, agent, card } = await setup(10_000, { AUTHORIZATION_HOLD_SECONDS: '3600' });
    expect((await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits: [{ amountCents: 5000, frequency: 'per24HourPeriod' }] })).status).toBe(200);
    const first = (await charge(t, card, 40)).body.authorization;
    t.clock.advanceMs(60_000);
    // Nothing due yet: the hold stays pending and counts toward the day's limit (40 + 20 > 50).
    expect((await charge(t, card, 20)).body.authorization).toMatchObject({ status: 'declined', declineReason: 'spending_limit' });
    expect((await t.deps.spending!.getAuthorization(first.id)).status).toBe('pending');
    t.clock.advanceMs(3_600_000);
    // Due now: released by the next authorization before it is decided, so 20 fits the limit.
    const third = (await charge(t, card, 20)).body.authorization;
    expect(third.status).toBe('approved');
    expect((await t.deps.spending!.getAuthorization(first.id)).status).toBe('expired');
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 8_000, heldCents: 2_000 });
    const tx = await signed(t, agent, 'GET', `/cards/${card.cardId}/transactions`);
    expect(tx.body.transactions.map((x: { type: string }) => x.type)).toEqual(['authorization', 'expiry', 'authorization', 'authorization', 'initial_load']);
  });

  it('the checkout page escapes what the link says, and is served with a strict CSP', async () => {
    const { t } = await setup();
    const res = await t.app.request('/sandbox/checkout?merchant=%3Cscript%3Ealert(1)%3C%2Fscript%3E&amount=1.00');
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('the routes do not exist when the sandbox issuer is not in use', async () => {
    const t = await makeTestApp();
    const card = await seedCard(t, { agent: Keypair.random(), loadCents: 100 });
    expect((await charge(t, card, 1)).status).toBe(404);
    expect((await post(t, `/sandbox/authorizations/${randomUUID()}/capture`)).status).toBe(404);
    expect((await t.app.request('/sandbox/checkout')).status).toBe(404);
  });
});
