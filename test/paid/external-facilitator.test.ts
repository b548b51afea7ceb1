import type { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { HttpFacilitator } from '../../src/facilitator/http.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { startExternalFacilitator, type ExternalFacilitator } from '../helpers/external-facilitator.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

describe('an external facilitator over the standard /verify, /settle, /supported HTTP API', () => {
  let h: PaidHarness;
  let external: ExternalFacilitator;
  let facilitatorUrl: string;
  let facilitatorChannel: Keypair;

  beforeAll(async () => {
    h = await makePaidHarness({
      facilitator: async (ctx) => {
        external = await startExternalFacilitator(ctx);
        facilitatorUrl = external.url;
        facilitatorChannel = external.channel;
        return external.client;
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await external.close();
  });

  it('serves /supported with its signers', async () => {
    const supported = await bodyOf(await fetch(`${facilitatorUrl}/supported`));
    expect(supported.kinds).toEqual([{ x402Version: 2, scheme: 'exact', network: 'stellar:testnet', extra: { areFeesSponsored: true } }]);
    expect(supported.signers['stellar:*']).toEqual([facilitatorChannel.publicKey()]);
  });

  it('card402 verifies and settles through it, paying exactly the price', async () => {
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const channelXlm = h.localnet.xlmBalance(facilitatorChannel.publicKey());
    const { response } = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Ext Fac', email: 'ext@example.com' });
    const body = await bodyOf(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - 35_8800000n);
    expect(h.localnet.xlmBalance(facilitatorChannel.publicKey())).toBeLessThan(channelXlm);
    await expectNothingLost(h, treasury);
  });

  it('concurrent copies of one payment: it is recorded once, settled through /settle once, one card, one charge', async () => {
    const agent = h.agent(100n * USDC);
    const route = '/cards/create/tier/25';
    const body = JSON.stringify({ nameOnCard: 'Ext Twin', email: 'twin@example.com' });
    const challenge = await fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const header = encodePayment(
      await createExactPayment(await readPaymentRequired(challenge), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: h.ledgerServer.rpcUrl, ledgerSeconds: h.config.x402.ledgerSeconds }),
    );
    const settledBefore = external.settleCalls();
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header }, body })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(statuses)).toBe(true);
    expect(external.settleCalls() - settledBefore).toBe(1);
    expect(await h.db.selectFrom('payments').select('id').where('payer', '=', agent.publicKey()).execute()).toHaveLength(1);
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - 35_8800000n);
  });

  it("refuses payments that name the external facilitator's accounts (learned from /supported)", async () => {
    const { response } = await h.pay(h.agent(100n * USDC), '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com' }, {
      overrides: { txSource: facilitatorChannel.publicKey() },
    });
    expect(response.status).toBe(402);
    expect((await bodyOf(response)).reason).toBe('facilitator_is_source');
  });

  it('answers /verify with the reason for a bad payment', async () => {
    const res = await fetch(`${facilitatorUrl}/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x402Version":2}' });
    expect(res.status).toBe(400);
    expect(await bodyOf(res)).toEqual({ isValid: false, invalidReason: 'invalid_payload', invalidMessage: 'invalid_request' });
  });
});

describe('an unreachable external facilitator', () => {
  it('answers 503 network_unavailable and takes nothing', async () => {
    const h = await makePaidHarness({ facilitator: async () => new HttpFacilitator('http://127.0.0.1:9') });
    try {
      const agent = h.agent(100n * USDC);
      const { response } = await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com' });
      expect(response.status).toBe(503);
      expect((await bodyOf(response)).reason).toBe('network_unavailable');
      expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    } finally {
      await h.close();
    }
  });
});
