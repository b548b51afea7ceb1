import { randomUUID } from 'node:crypto';
import type { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { until } from '../helpers/attack.js';
import { bodyOf } from '../helpers/http.js';
import { startCluster, type Cluster } from '../helpers/multi-instance.js';

/**
 * Three card402 processes (src/main.ts, as `npm start` runs it) on one PostgreSQL database and one
 * local ledger, sharing treasury, channel accounts and card data key: what a load balancer in front
 * of several instances sees.
 */
const ROUTE = '/cards/create/tier/25';
const BODY = { nameOnCard: 'Ada Agent', email: 'ada@example.com' };
const PRICE = 35_8800000n; // $25 + $10 card + 3.5% of $25, in atomic USDC
const USDC = 10_000_000n;
// Three Node processes boot (tsx compiles the app in each) on a shared two-core machine.
const CLUSTER_TEST_MS = 240_000;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function signedPayment(c: Cluster, agent: Keypair): Promise<string> {
  const challenge = await fetch(c.instances[0]!.url + ROUTE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) });
  expect(challenge.status).toBe(402);
  const payment = await createExactPayment(await readPaymentRequired(challenge), {
    keypair: agent,
    networkPassphrase: LOCALNET_PASSPHRASE,
    rpc: c.ledgerServer.rpcUrl,
    ledgerSeconds: 1,
  });
  return encodePayment(payment);
}

function pay(url: string, header: string): Promise<Response> {
  return fetch(url + ROUTE, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header }, body: JSON.stringify(BODY) });
}

describe('several card402 instances on one PostgreSQL', () => {
  it('20 concurrent copies of one payment spread over three instances: one card, one charge', async () => {
    cluster = await startCluster(3);
    const c = cluster;
    const agent = c.agent(100n * USDC);
    const header = await signedPayment(c, agent);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => pay(c.instances[i % 3]!.url, header)));
    const bodies = await Promise.all(responses.map((r) => bodyOf(r)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409), JSON.stringify(bodies)).toBe(true);
    // Whoever answered 409 (in progress) gets the card when it asks again.
    await until(async () => (await c.query<{ status: string }>('select status from payments'))[0]?.status === 'fulfilled', 'the payment fulfilled');
    const cardIds = new Set(bodies.filter((_, i) => statuses[i] === 201).map((b) => b.card.cardId));
    const again = await bodyOf(await pay(c.instances[2]!.url, header));
    cardIds.add(again.card.cardId);
    expect(cardIds.size).toBe(1);
    expect(await c.query('select id from cards')).toHaveLength(1);
    expect(await c.query('select id from payments')).toHaveLength(1);
    expect(c.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    expect(c.localnet.usdcBalance(c.treasury)).toBe(PRICE);
  }, CLUSTER_TEST_MS);

  it('one details nonce raced across three instances: exactly one read succeeds', async () => {
    cluster = await startCluster(3);
    const c = cluster;
    const agent = c.agent(100n * USDC);
    const created = await pay(c.instances[0]!.url, await signedPayment(c, agent));
    const body = await bodyOf(created);
    expect(created.status, JSON.stringify(body)).toBe(201);
    const cardId = body.card.cardId as string;
    const nonce = randomUUID();
    const route = `/cards/${cardId}/details`;
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        fetch(c.instances[i % 3]!.url + route, { headers: { ...walletAuthHeadersV2(agent, { method: 'GET', url: route }), 'X-AGENT-NONCE': nonce } }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200), JSON.stringify(statuses)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
  }, CLUSTER_TEST_MS);

  it('kill -9 of an instance in mid-settlement: another instance finishes the payment; nothing is charged twice or refunded', async () => {
    cluster = await startCluster(3, { ledgerMs: 'manual' });
    const c = cluster;
    const agent = c.agent(100n * USDC);
    const header = await signedPayment(c, agent);
    const victim = c.instances[0]!;
    const answer = pay(victim.url, header).catch((err: unknown) => err); // its answer dies with it
    // The settlement envelope is recorded (and sent) before the ledger closes: the payment is in flight.
    await until(async () => (await c.query<{ settle_tx_hash: string | null }>('select settle_tx_hash from payments'))[0]?.settle_tx_hash != null, 'settling');
    await victim.kill();
    await answer;
    // The ledger goes on; the dead instance's leases lapse and a survivor's reconciler resumes it.
    const ticker = setInterval(() => void c.localnet.closeLedger(), 100);
    try {
      await until(async () => (await c.query<{ status: string }>('select status from payments'))[0]?.status === 'fulfilled', 'fulfilled by a survivor', 1200);
    } finally {
      clearInterval(ticker);
    }
    const [payment] = await c.query<{ refund_tx_hash: string | null; card_id: string | null }>('select refund_tx_hash, card_id from payments');
    expect(payment).toMatchObject({ refund_tx_hash: null, card_id: expect.any(String) });
    expect(await c.query('select id from cards')).toHaveLength(1);
    expect(c.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    expect(c.localnet.usdcBalance(c.treasury)).toBe(PRICE);
    // The survivors answer the same payment with its card.
    const replay = await pay(c.instances[1]!.url, header);
    expect(replay.status).toBe(201);
    expect((await bodyOf(replay)).card.cardId).toBe(payment!.card_id);
  }, CLUSTER_TEST_MS);
});
