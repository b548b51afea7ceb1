import { Keypair } from '@stellar/stellar-sdk';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { PaymentRefusedError, type PaymentRefusalReason } from '../../src/client/errors.js';
import { forward, listenProxy, relay } from '../helpers/proxy.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { countingKeypair } from '../helpers/signer.js';

const USDC = 10_000_000n;
type Requirement = { amount: string; payTo: string; asset: string; network: string };

/** A man in the middle: forwards to the real card402 but can rewrite what its 402 asks for. */
async function tamperingProxy(target: string) {
  const state = { tamper: undefined as ((r: Requirement) => void) | undefined, paidRequests: 0 };
  const app = new Hono();
  app.all('*', async (c) => {
    if (c.req.header('PAYMENT-SIGNATURE') || c.req.header('X-PAYMENT')) state.paidRequests++;
    const upstream = await forward(c, target);
    if (upstream.status !== 402 || !state.tamper) return relay(upstream);
    const body = (await upstream.json()) as { accepts: Requirement[] };
    for (const r of body.accepts) state.tamper(r);
    const headers = new Headers(upstream.headers);
    headers.set('PAYMENT-REQUIRED', Buffer.from(JSON.stringify(body)).toString('base64'));
    return relay(upstream, JSON.stringify(body), headers);
  });
  return { state, ...(await listenProxy(app)) };
}

describe('the SDK refuses a 402 that asks for the wrong thing, and signs nothing', () => {
  let server: BootedServer;
  let proxy: Awaited<ReturnType<typeof tamperingProxy>>;
  beforeAll(async () => {
    server = await bootServer();
    proxy = await tamperingProxy(server.apiUrl);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  async function attempt(tamper: ((r: Requirement) => void) | undefined, opts: { limits?: { spendCapAtomic?: bigint; maxPaymentAtomic?: bigint }; payTo?: string; amount?: string } = {}) {
    const { keypair, signatures } = countingKeypair();
    const client = new Card402Client({
      baseUrl: proxy.url,
      rpcUrl: server.rpcUrl,
      signer: keypair,
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.payTo ? { payTo: opts.payTo } : {}),
    });
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}`);
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}&asset=USDC&amount=500`);
    proxy.state.tamper = tamper;
    proxy.state.paidRequests = 0;
    const error = await client.createCard({ amount: opts.amount ?? '25', nameOnCard: 'Mallory', email: 'm@example.com' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    return { error, signatures: signatures(), client };
  }

  const cases: Array<[string, (r: Requirement) => void, PaymentRefusalReason]> = [
    ['an overpriced challenge', (r) => (r.amount = (BigInt(r.amount) + 1n).toString()), 'amount_mismatch'],
    ['an underpriced challenge', (r) => (r.amount = (BigInt(r.amount) - 100_000n).toString()), 'amount_mismatch'],
    ['a different asset', (r) => (r.asset = 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75'), 'wrong_asset'],
    ['another network', (r) => (r.network = 'stellar:pubnet'), 'wrong_network'],
  ];

  it.each(cases)('%s', async (_name, tamper, reason) => {
    const { error, signatures, client } = await attempt(tamper);
    expect(error).toBeInstanceOf(PaymentRefusedError);
    expect((error as PaymentRefusedError).reason).toBe(reason);
    expect(signatures).toBe(0);
    expect(proxy.state.paidRequests).toBe(0);
    expect(client.spent).toBe(0n);
    expect(await client.usdcBalance()).toBe(500n * USDC);
  });

  it('a payTo other than the pinned treasury', async () => {
    const treasury = ((await (await fetch(`${server.apiUrl}/supported`)).json()) as { kinds: Array<{ payTo: string }> }).kinds[0]!.payTo;
    const attacker = Keypair.random().publicKey();
    const { error, signatures, client } = await attempt((r) => (r.payTo = attacker), { payTo: treasury });
    expect((error as PaymentRefusedError).reason).toBe('unexpected_pay_to');
    expect(signatures).toBe(0);
    expect(proxy.state.paidRequests).toBe(0);
    expect(await client.usdcBalance()).toBe(500n * USDC);
  });

  it('a payTo that changed after the first payment pinned the treasury', async () => {
    const { keypair, signatures } = countingKeypair();
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}`);
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}&asset=USDC&amount=500`);
    const client = new Card402Client({ baseUrl: proxy.url, rpcUrl: server.rpcUrl, signer: keypair });
    proxy.state.tamper = undefined;
    await client.createCard({ amount: '0', nameOnCard: 'First', email: 'f@example.com' });
    const signedSoFar = signatures();
    const balance = await client.usdcBalance();
    proxy.state.tamper = (r) => (r.payTo = Keypair.random().publicKey());
    proxy.state.paidRequests = 0;
    const error = await client.createCard({ amount: '0', nameOnCard: 'Second', email: 's@example.com' }).catch((e: unknown) => e);
    expect((error as PaymentRefusedError).reason).toBe('unexpected_pay_to');
    expect(signatures()).toBe(signedSoFar);
    expect(proxy.state.paidRequests).toBe(0);
    expect(await client.usdcBalance()).toBe(balance);
  });

  it('a price over the spend cap', async () => {
    const { error, signatures, client } = await attempt(undefined, { limits: { spendCapAtomic: 20n * USDC } });
    expect((error as PaymentRefusedError).reason).toBe('over_spend_cap');
    expect(signatures).toBe(0);
    expect(await client.usdcBalance()).toBe(500n * USDC);
  });

  it('a price over the per-payment limit', async () => {
    const { error, signatures } = await attempt(undefined, { limits: { maxPaymentAtomic: 30n * USDC, spendCapAtomic: 1000n * USDC } });
    expect((error as PaymentRefusedError).reason).toBe('over_payment_limit');
    expect(signatures).toBe(0);
  });

  it('the spend cap counts earlier payments', async () => {
    const { keypair, signatures } = countingKeypair();
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}`);
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}&asset=USDC&amount=500`);
    proxy.state.tamper = undefined;
    const client = new Card402Client({ baseUrl: proxy.url, rpcUrl: server.rpcUrl, signer: keypair, limits: { spendCapAtomic: 15n * USDC } });
    await client.createCard({ amount: '0', nameOnCard: 'One', email: 'o@example.com' }); // $10
    const after = signatures();
    const error = await client.createCard({ amount: '0', nameOnCard: 'Two', email: 't@example.com' }).catch((e: unknown) => e);
    expect((error as PaymentRefusedError).reason).toBe('over_spend_cap');
    expect(signatures()).toBe(after);
    expect(client.spent).toBe(10n * USDC);
  });
});
