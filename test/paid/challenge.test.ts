import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import type { PaymentRequired } from '../../src/protocol/x402.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness;
beforeAll(async () => {
  h = await makePaidHarness();
});
afterAll(async () => {
  await h.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  h.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', Host: 'evil.example', ...headers }, body: JSON.stringify(body) });

describe('the 402 challenge', () => {
  it('carries the v2 PaymentRequired as JSON body and base64 header, priced exactly, resource from PUBLIC_BASE_URL', async () => {
    const res = await post('/cards/create/tier/100', { nameOnCard: 'A', email: 'a@example.com' });
    expect(res.status).toBe(402);
    const body = await bodyOf(res);
    expect(decodeJsonHeader<PaymentRequired>(res.headers.get('PAYMENT-REQUIRED')!)).toEqual(body);
    expect(body).toEqual({
      x402Version: 2,
      error: 'payment required',
      resource: { url: 'http://card402.test/cards/create/tier/100', description: 'Create a virtual card', mimeType: 'application/json' },
      accepts: [
        {
          scheme: 'exact',
          network: 'stellar:testnet',
          amount: '1135000000',
          asset: h.config.stellar.usdcContract,
          payTo: h.keys.treasury.publicKey(),
          maxTimeoutSeconds: 60,
          extra: { areFeesSponsored: true },
        },
      ],
    });
  });

  it('prices top-ups as amount + 3.5%', async () => {
    const agent = h.agent(1_000n * USDC);
    const created = await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com' });
    const { card } = await bodyOf(created.response);
    const res = await post('/cards/fund/tier/200', { cardId: card.cardId });
    expect(res.status).toBe(402);
    expect((await bodyOf(res)).accepts[0].amount).toBe((207n * USDC).toString());
  });

  it.each([
    ['/cards/create/tier/4.99', { nameOnCard: 'A', email: 'a@example.com' }, 'INVALID_AMOUNT'],
    ['/cards/create/tier/10.001', { nameOnCard: 'A', email: 'a@example.com' }, 'INVALID_AMOUNT'],
    ['/cards/create/tier/-5', { nameOnCard: 'A', email: 'a@example.com' }, 'INVALID_AMOUNT'],
    ['/cards/fund/tier/0', { cardId: '6f1c1f1e-8a4e-4d0e-9a51-3f0c2b1e7d11' }, 'INVALID_AMOUNT'],
    ['/cards/create/tier/25', { nameOnCard: '', email: 'a@example.com' }, 'VALIDATION_ERROR'],
    ['/cards/create/tier/25', { nameOnCard: 'A', email: 'not-an-email' }, 'VALIDATION_ERROR'],
    ['/cards/create/tier/25', { nameOnCard: 'Eve \u001b[2J\u001b]0;pwned\u0007', email: 'a@example.com' }, 'VALIDATION_ERROR'],
    ['/cards/create/tier/25', { nameOnCard: 'Eve\u0000Null', email: 'a@example.com' }, 'VALIDATION_ERROR'],
    ['/cards/create/tier/25', { nameOnCard: 'Eve \u202egnp.exe', email: 'a@example.com' }, 'VALIDATION_ERROR'],
    ['/cards/create/tier/25', { nameOnCard: 'A', email: 'a@example.com', ownerAddress: 'GNOPE' }, 'VALIDATION_ERROR'],
    ['/cards/fund/tier/25', { cardId: 'card-1' }, 'VALIDATION_ERROR'],
  ])('%s %j is 400 %s before any payment is asked for or taken', async (path, body, code) => {
    const agent = h.agent(100n * USDC);
    const before = h.localnet.usdcBalance(agent.publicKey());
    const { response, payment } = await h.pay(agent, path, body);
    expect(response.status).toBe(400);
    expect((await bodyOf(response)).code).toBe(code);
    expect(payment).toBeUndefined();
    expect(response.headers.get('PAYMENT-REQUIRED')).toBeNull();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before);
  });

  it('is 404 for a top-up of an unknown card, before asking for payment', async () => {
    const res = await post('/cards/fund/tier/25', { cardId: '6f1c1f1e-8a4e-4d0e-9a51-3f0c2b1e7d11' });
    expect(res.status).toBe(404);
  });

  it('refuses to fund a card the payer does not own, before any money moves', async () => {
    const owner = h.agent(1_000n * USDC);
    const stranger = h.agent(1_000n * USDC);
    const created = await h.pay(owner, '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com' });
    const { card } = await bodyOf(created.response);
    const before = h.localnet.usdcBalance(stranger.publicKey());
    const { response, payment } = await h.pay(stranger, '/cards/fund/tier/25', { cardId: card.cardId });
    expect(payment).toBeDefined();
    expect(response.status).toBe(404);
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(stranger.publicKey())).toBe(before);
  });

  it('lets the ownerAddress (not only the payer) fund the card', async () => {
    const payer = h.agent(1_000n * USDC);
    const owner = h.agent(1_000n * USDC);
    const created = await h.pay(payer, '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com', ownerAddress: owner.publicKey() });
    const { card } = await bodyOf(created.response);
    const { response } = await h.pay(owner, '/cards/fund/tier/25', { cardId: card.cardId });
    expect(response.status).toBe(200);
    expect((await bodyOf(response)).newBalance).toBe(25);
  });

  it('answers 503 provider_capacity with Retry-After before the challenge when the issuer is full', async () => {
    h.issuer.setCapacityCents(1_000);
    try {
      const res = await post('/cards/create/tier/25', { nameOnCard: 'A', email: 'a@example.com' });
      expect(res.status).toBe(503);
      expect(await bodyOf(res)).toMatchObject({ reason: 'provider_capacity', retryAfter: 60, code: 'SERVICE_UNAVAILABLE' });
      expect(res.headers.get('Retry-After')).toBe('60');
      expect(res.headers.get('PAYMENT-REQUIRED')).toBeNull();
    } finally {
      h.issuer.setCapacityCents(h.config.issuer.capacityCents);
    }
  });

  it('checks capacity again before settling: a payment signed before capacity ran out is not taken', async () => {
    const agent = h.agent(100n * USDC);
    const before = h.localnet.usdcBalance(agent.publicKey());
    const challenge = await post('/cards/create/tier/25', { nameOnCard: 'A', email: 'a@example.com' });
    expect(challenge.status).toBe(402);
    const payment = await createExactPayment(await readPaymentRequired(challenge), {
      keypair: agent,
      networkPassphrase: LOCALNET_PASSPHRASE,
      rpc: h.ledgerServer.rpcUrl,
      ledgerSeconds: h.config.x402.ledgerSeconds,
    });
    h.issuer.setCapacityCents(0);
    try {
      const res = await post('/cards/create/tier/25', { nameOnCard: 'A', email: 'a@example.com' }, { 'PAYMENT-SIGNATURE': encodePayment(payment) });
      expect(res.status).toBe(503);
      expect((await bodyOf(res)).reason).toBe('provider_capacity');
    } finally {
      h.issuer.setCapacityCents(h.config.issuer.capacityCents);
    }
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before);
    expect(await h.db.selectFrom('payments').select('id').where('payer', '=', agent.publicKey()).execute()).toEqual([]);
  });

  it('shows payments only to a signed-in wallet, and 404s unknown or malformed ids', async () => {
    const wallet = Keypair.random();
    for (const path of ['/payments/6f1c1f1e-8a4e-4d0e-9a51-3f0c2b1e7d11', '/payments/1']) {
      expect((await h.app.request(path)).status).toBe(401);
      expect((await h.app.request(path, { headers: walletAuthHeadersV2(wallet, { method: 'GET', url: path }) })).status).toBe(404);
    }
  });
});
