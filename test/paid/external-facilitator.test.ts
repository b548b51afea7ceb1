import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { HttpFacilitator } from '../../src/facilitator/http.js';
import { LocalFacilitator } from '../../src/facilitator/local.js';
import { createFacilitatorApp } from '../../src/facilitator/server.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { ChannelPool } from '../../src/stellar/channels.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

describe('an external facilitator over the standard /verify, /settle, /supported HTTP API', () => {
  let h: PaidHarness;
  let facilitatorServer: ServerType;
  let facilitatorUrl: string;
  const facilitatorChannel = Keypair.random();
  let settleCalls = 0;

  beforeAll(async () => {
    h = await makePaidHarness({
      facilitator: async ({ rpcUrl, localnet }) => {
        // A separate facilitator service with its own channel account, reached only over HTTP.
        localnet.fundXlm(facilitatorChannel.publicKey());
        const rpc = new SorobanRpc(rpcUrl);
        const local = new LocalFacilitator({
          rpc,
          channels: new ChannelPool([facilitatorChannel], rpc),
          networkPassphrase: LOCALNET_PASSPHRASE,
          ledgerSeconds: 1,
          maxFeeStroops: 1_000_000n,
          pollTimeoutMs: 5_000,
          pollIntervalMs: 20,
          clock: systemClock,
          logger: createMemoryLogger(),
        });
        const app = createFacilitatorApp(local, { network: 'stellar:testnet' });
        facilitatorServer = await new Promise<ServerType>((resolve) => {
          const fetchCounted = (request: Request) => {
            if (new URL(request.url).pathname === '/settle') settleCalls += 1;
            return app.fetch(request);
          };
          const s = serve({ fetch: fetchCounted, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
        });
        facilitatorUrl = `http://127.0.0.1:${(facilitatorServer.address() as AddressInfo).port}`;
        return new HttpFacilitator(facilitatorUrl);
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
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
    const settledBefore = settleCalls;
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header }, body })),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(statuses)).toBe(true);
    expect(settleCalls - settledBefore).toBe(1);
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
