import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness;
beforeAll(async () => {
  h = await makePaidHarness();
});
afterAll(async () => {
  await h.close();
});

const BODY = { nameOnCard: 'Rita Replay', email: 'rita@example.com' };
const PRICE_25 = 35_8800000n; // 10 + 25 + 0.88

async function signedPayment(agent: ReturnType<PaidHarness['agent']>, route: string, body: unknown) {
  const challenge = await fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(challenge.status).toBe(402);
  return createExactPayment(await readPaymentRequired(challenge), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: h.ledgerServer.rpcUrl, ledgerSeconds: h.config.x402.ledgerSeconds });
}

function send(route: string, body: unknown, header: string, extra: Record<string, string> = {}) {
  return fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header, ...extra }, body: JSON.stringify(body) });
}

async function cardsOf(payer: string) {
  return h.db.selectFrom('cards').select('id').where('agent_address', '=', payer).execute();
}

describe('replays never charge twice or issue twice', () => {
  it('the same payment sent again sequentially gets the original response', async () => {
    const agent = h.agent(1_000n * USDC);
    const before = h.localnet.usdcBalance(agent.publicKey());
    const header = encodePayment(await signedPayment(agent, '/cards/create/tier/25', BODY));
    const first = await send('/cards/create/tier/25', BODY, header);
    const original = await bodyOf(first);
    expect(first.status, JSON.stringify(original)).toBe(201);
    const { detailsEnvelope, ...withoutDetails } = original;
    expect(detailsEnvelope.cardNumber).toMatch(/^\d{16}$/);
    for (let i = 0; i < 3; i++) {
      const again = await send('/cards/create/tier/25', BODY, header);
      expect(again.status).toBe(201);
      // The settled auth entry is public on the ledger, so a resent payment must not unlock card data.
      const text = await again.text();
      expect(JSON.parse(text)).toEqual(withoutDetails);
      expect(text).not.toContain(detailsEnvelope.cardNumber);
      expect(text).not.toContain(`"${detailsEnvelope.cvv}"`);
      expect(again.headers.get('PAYMENT-RESPONSE')).toBe(first.headers.get('PAYMENT-RESPONSE'));
    }
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before - PRICE_25);
    expect(await cardsOf(agent.publicKey())).toHaveLength(1);
  });

  it('20 concurrent copies of one payment: one settlement, one card; the others wait with 409 or get the original', async () => {
    const agent = h.agent(1_000n * USDC);
    const before = h.localnet.usdcBalance(agent.publicKey());
    const settledBefore = h.issuer.calls.issue;
    const header = encodePayment(await signedPayment(agent, '/cards/create/tier/25', BODY));
    const responses = await Promise.all(Array.from({ length: 20 }, () => send('/cards/create/tier/25', BODY, header)));
    const bodies = await Promise.all(responses.map((r) => bodyOf(r)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(statuses)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    for (const [i, res] of responses.entries()) {
      if (res.status === 409) {
        expect(bodies[i]).toMatchObject({ code: 'PAYMENT_IN_PROGRESS', paymentId: expect.any(String) });
        expect(res.headers.get('Retry-After')).toMatch(/^\d+$/);
      }
    }
    const cardIds = new Set(bodies.filter((b) => b.card).map((b) => b.card.cardId));
    expect(cardIds.size).toBe(1);
    // Afterwards every copy gets the original.
    const late = await send('/cards/create/tier/25', BODY, header);
    expect(late.status).toBe(201);
    expect((await bodyOf(late)).card.cardId).toBe([...cardIds][0]);

    await h.localnet.closeLedger();
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before - PRICE_25);
    expect(await cardsOf(agent.publicKey())).toHaveLength(1);
    expect(h.issuer.calls.issue - settledBefore).toBe(1);
    expect(await h.db.selectFrom('payments').select('id').where('payer', '=', agent.publicKey()).execute()).toHaveLength(1);
  });

  it('the copies that lose the race to record a payment send nothing: exactly one sendTransaction', async () => {
    let sends = 0;
    const counted = await makePaidHarness({
      env: { CHANNEL_COUNT: '4' },
      rpcFetch: (inner) => async (url, init) => {
        if ((JSON.parse(String(init.body)) as { method?: string }).method === 'sendTransaction') sends += 1;
        return inner(url, init);
      },
    });
    try {
      const agent = counted.agent(1_000n * USDC);
      const challenge = await fetch(counted.baseUrl + '/cards/create/tier/25', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) });
      const header = encodePayment(
        await createExactPayment(await readPaymentRequired(challenge), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: counted.ledgerServer.rpcUrl, ledgerSeconds: counted.config.x402.ledgerSeconds }),
      );
      const responses = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(counted.baseUrl + '/cards/create/tier/25', { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header }, body: JSON.stringify(BODY) }),
        ),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(statuses)).toBe(true);
      expect(sends).toBe(1);
      expect(await counted.db.selectFrom('payments').select('id').execute()).toHaveLength(1);
    } finally {
      await counted.close();
    }
  });

  it('a payment replayed against a different route or amount is refused, not re-used', async () => {
    const agent = h.agent(1_000n * USDC);
    const header = encodePayment(await signedPayment(agent, '/cards/create/tier/25', BODY));
    expect((await send('/cards/create/tier/25', BODY, header)).status).toBe(201);
    const other = await send('/cards/create/tier/100', BODY, header);
    expect(other.status).toBe(402);
    expect((await bodyOf(other)).reason).toBe('requirements_mismatch');
    const otherBody = await send('/cards/create/tier/25', { ...BODY, nameOnCard: 'Someone Else' }, header);
    expect(otherBody.status).toBe(409);
    expect((await bodyOf(otherBody)).code).toBe('CONFLICT');
  });

  it('honours Idempotency-Key: a second, different payment under the same key is never settled', async () => {
    const agent = h.agent(1_000n * USDC);
    const before = h.localnet.usdcBalance(agent.publicKey());
    const key = { 'Idempotency-Key': 'order-42' };
    const first = await send('/cards/create/tier/25', BODY, encodePayment(await signedPayment(agent, '/cards/create/tier/25', BODY)), key);
    const original = await bodyOf(first);
    expect(first.status).toBe(201);
    const second = await send('/cards/create/tier/25', BODY, encodePayment(await signedPayment(agent, '/cards/create/tier/25', BODY)), key);
    expect(second.status).toBe(201);
    const { detailsEnvelope: _firstDeliveryOnly, ...withoutDetails } = original;
    expect(await bodyOf(second)).toEqual(withoutDetails);
    const conflicting = await send('/cards/create/tier/50', BODY, encodePayment(await signedPayment(agent, '/cards/create/tier/50', BODY)), key);
    expect(conflicting.status).toBe(409);
    await h.localnet.closeLedger();
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before - PRICE_25);
    expect(await cardsOf(agent.publicKey())).toHaveLength(1);
  });

  it('rejects a malformed Idempotency-Key with 400 before payment', async () => {
    const res = await fetch(h.baseUrl + '/cards/create/tier/25', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'x'.repeat(300) },
      body: JSON.stringify(BODY),
    });
    expect(res.status).toBe(400);
  });
});
