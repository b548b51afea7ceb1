import { afterEach, describe, expect, it } from 'vitest';
import { Operation, TransactionBuilder, rpc as sdkRpc } from '@stellar/stellar-sdk';
import type { CardIssuer } from '../../src/cards/issuer.js';
import { createCard } from '../../src/payments/products/create-card.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { startPaymentRuntime } from '../../src/payments/wiring.js';
import type { FetchLike } from '../../src/stellar/rpc.js';
import { bodyOf } from '../helpers/http.js';
import { invokeOpOf } from '../helpers/payments.js';
import { expectNothingLost, fetchPayment, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

const BODY = { nameOnCard: 'Faye Fault', email: 'faye@example.com' };
const ROUTE = '/cards/create/tier/25';
const PRICE = 35_8800000n;

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function rpcMethod(init: RequestInit): string {
  return (JSON.parse(String(init.body)) as { method: string }).method;
}

async function signed(harness: PaidHarness, agent: ReturnType<PaidHarness['agent']>) {
  const challenge = await fetch(harness.baseUrl + ROUTE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) });
  return encodePayment(
    await createExactPayment(await readPaymentRequired(challenge), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: harness.ledgerServer.rpcUrl, ledgerSeconds: harness.config.x402.ledgerSeconds }),
  );
}

function send(harness: PaidHarness, header: string) {
  return fetch(harness.baseUrl + ROUTE, { method: 'POST', headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header }, body: JSON.stringify(BODY) });
}

async function until(check: () => Promise<boolean>, what: string, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('settlement faults: every settled payment ends fulfilled or refunded, none is charged twice', () => {
  it('TRY_AGAIN_LATER from sendTransaction is retried and settles once', async () => {
    h = await makePaidHarness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.localnet.faults.failNextSend('TRY_AGAIN_LATER', 2);
    const { response } = await h.pay(agent, ROUTE, BODY);
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it('a lost sendTransaction response is resent identically, answered DUPLICATE, and polled to success', async () => {
    let dropped = 0;
    const answers: string[] = [];
    h = await makePaidHarness({
      ledgerMs: 'manual',
      rpcFetch: (inner: FetchLike) => async (url, init) => {
        const response = await inner(url, init);
        if (rpcMethod(init) === 'sendTransaction') {
          answers.push(((await response.clone().json()) as { result: { status: string } }).result.status);
          // The request reached the ledger, but its answer is lost on the way back.
          if (dropped++ === 0) throw new TypeError('fetch failed: socket hang up');
        }
        return response;
      },
    });
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const pending = send(h, await signed(h, agent));
    await until(async () => answers.length === 2, 'the resend');
    await harness.localnet.closeLedger();
    const response = await pending;
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
    expect(answers).toEqual(['PENDING', 'DUPLICATE']);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it('a lost sendTransaction response whose transaction landed before the resend: the refusal is checked against the ledger, not re-settled', async () => {
    let dropped = 0;
    const answers: string[] = [];
    let harness: PaidHarness | undefined;
    h = await makePaidHarness({
      ledgerMs: 'manual',
      rpcFetch: (inner: FetchLike) => async (url, init) => {
        const response = await inner(url, init);
        if (rpcMethod(init) === 'sendTransaction') {
          answers.push(((await response.clone().json()) as { result: { status: string } }).result.status);
          if (dropped++ === 0) {
            await harness!.localnet.closeLedger(); // it lands while we are not listening
            throw new TypeError('fetch failed: socket hang up');
          }
        }
        return response;
      },
    });
    harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const response = await send(h, await signed(h, agent));
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
    expect(answers).toEqual(['PENDING', 'ERROR']);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it('a sendTransaction ERROR is retried on a fresh sequence; persistent errors fail the payment with no money moved', async () => {
    h = await makePaidHarness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.localnet.faults.failNextSend('ERROR', 1);
    const ok = await h.pay(agent, ROUTE, BODY);
    expect(ok.response.status).toBe(201);

    h.localnet.faults.failNextSend('ERROR', 50);
    const failed = await h.pay(agent, ROUTE, BODY);
    const body = await bodyOf(failed.response);
    expect(failed.response.status, JSON.stringify(body)).toBe(402);
    expect(body.reason).toBe('settlement_failed');
    h.localnet.faults.failNextSend('ERROR', 0);
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    // The same payment sent again is not settled a second time.
    const again = await send(h, encodePayment(failed.payment!));
    expect(again.status).toBe(402);
    expect((await bodyOf(again)).reason).toBe('payment_failed');
    await expectNothingLost(h, treasury);
  });

  it('a settlement that breaks before anything is sent (the channel cannot be read) fails cleanly: recorded failed, nothing sent, no money moved', async () => {
    const sent: string[] = [];
    h = await makePaidHarness({
      rpcFetch: (inner: FetchLike) => async (url, init) => {
        const method = rpcMethod(init);
        if (method === 'sendTransaction') sent.push(method);
        if (method === 'getLedgerEntries') return new Response('upstream down', { status: 502 });
        return inner(url, init);
      },
    });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const header = await signed(h, agent);
    const failed = await send(h, header);
    const body = await bodyOf(failed);
    expect(failed.status, JSON.stringify(body)).toBe(402);
    expect(body.reason).toBe('settlement_failed');
    expect(sent).toEqual([]);
    // Recorded all the same (the failed-payment sweep watches its nonce), without any envelope.
    const row = await h.db.selectFrom('payments').select(['status', 'settle_tx_hash', 'settle_envelope_xdr', 'last_error']).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'failed', settle_tx_hash: null, settle_envelope_xdr: null, last_error: 'settle_error' });
    const again = await send(h, header);
    expect(again.status).toBe(402);
    expect((await bodyOf(again)).reason).toBe('payment_failed');
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    await expectNothingLost(h, treasury);
  });

  it('a payment answered "failed" that someone else lands later (its nonce turns up spent) is refunded, not kept', async () => {
    h = await makePaidHarness();
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.localnet.faults.failNextSend('ERROR', 50);
    const failed = await h.pay(agent, ROUTE, BODY);
    expect(failed.response.status).toBe(402);
    expect((await bodyOf(failed.response)).reason).toBe('settlement_failed');
    h.localnet.faults.failNextSend('ERROR', 0);

    // A third party who saw the payment submits the payer's signed invocation itself.
    const thief = h.agent(0n);
    const op = invokeOpOf(failed.payment!);
    const rpc = new sdkRpc.Server(h.ledgerServer.rpcUrl, { allowHttp: true });
    const tx = new TransactionBuilder(await rpc.getAccount(thief.publicKey()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
      .addOperation(Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [] }))
      .setTimeout(60)
      .build();
    const prepared = await rpc.prepareTransaction(tx);
    prepared.sign(thief);
    expect((await rpc.sendTransaction(prepared)).status).toBe('PENDING');
    await until(async () => harness.localnet.usdcBalance(agent.publicKey()) === 100n * USDC - PRICE, 'the stray transfer');

    await h.stack.service.reconcile();
    const payment = await h.db.selectFrom('payments').selectAll().where('payer', '=', agent.publicKey()).executeTakeFirstOrThrow();
    expect(payment.status).toBe('refunded');
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    await expectNothingLost(h, treasury);
  });

  it('a poll that times out leaves the payment settling (409, never "failed"); the reconciler finishes it after the late success', async () => {
    h = await makePaidHarness({ ledgerMs: 'manual', env: { SETTLE_POLL_TIMEOUT_MS: '200' } });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const header = await signed(h, agent);
    const first = await send(h, header);
    const waiting = await bodyOf(first);
    expect(first.status, JSON.stringify(waiting)).toBe(409);
    expect(waiting.code).toBe('PAYMENT_IN_PROGRESS');
    expect(first.headers.get('Retry-After')).toBeTruthy();
    const status = await bodyOf(await fetchPayment(h, agent, waiting.paymentId));
    expect(status.status).toBe('settling');

    await h.localnet.closeLedger(); // the transaction lands late
    await h.stack.service.reconcile();
    const after = await bodyOf(await fetchPayment(h, agent, waiting.paymentId));
    expect(after.status).toBe('fulfilled');
    const replay = await send(h, header);
    expect(replay.status).toBe(201);
    expect((await bodyOf(replay)).card.cardId).toBe(after.cardId);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it('an issuer failure after settlement answers 502 with the paymentId, and the background retry fulfils it', async () => {
    h = await makePaidHarness();
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.issuer.failNext('issue', 1);
    const { response } = await h.pay(agent, ROUTE, BODY);
    const body = await bodyOf(response);
    expect(response.status, JSON.stringify(body)).toBe(502);
    expect(body).toMatchObject({ code: 'FULFILMENT_FAILED', status: 'paid_unfulfilled', paymentId: expect.any(String) });
    expect(response.headers.get('PAYMENT-RESPONSE')).toBeTruthy();
    // The settlement is recorded with the failure: the transaction that landed, and its ledger.
    const settled = decodeJsonHeader<{ transaction: string }>(response.headers.get('PAYMENT-RESPONSE')!);
    const row = await h.db.selectFrom('payments').select(['status', 'settle_tx_hash', 'settled_ledger', 'fulfil_attempts']).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'paid_unfulfilled', settle_tx_hash: settled.transaction, settled_ledger: expect.any(Number), fulfil_attempts: 1 });
    expect((await h.stack.rpc.transaction(settled.transaction)).status).toBe('SUCCESS');
    await h.stack.service.reconcile();
    expect((await bodyOf(await fetchPayment(h, agent, body.paymentId))).status).toBe('fulfilled');
    await expectNothingLost(h, treasury);
  });

  it('a payment that can never be fulfilled is refunded on-chain to the payer, with the refund tx recorded', async () => {
    h = await makePaidHarness({ env: { FULFIL_MAX_ATTEMPTS: '2' } });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.issuer.failNext('issue', 100);
    const { response } = await h.pay(agent, ROUTE, BODY);
    const body = await bodyOf(response);
    expect(response.status).toBe(502);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    for (let i = 0; i < 3; i++) await h.stack.service.reconcile();
    const payment = await bodyOf(await fetchPayment(h, agent, body.paymentId));
    expect(payment.status).toBe('refunded');
    expect(payment.refundTxHash).toMatch(/^[0-9a-f]{64}$/);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    // Replaying the refunded payment says so; it is neither settled nor refunded again.
    const again = await send(h, encodePayment(await rebuildPayload(h, body.paymentId)));
    expect(again.status).toBe(502);
    expect(await bodyOf(again)).toMatchObject({ status: 'refunded', refundTxHash: payment.refundTxHash });
    await h.stack.service.reconcile();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    await expectNothingLost(h, treasury);
  });
});

/** The payment exactly as the payer sent it (the payer's transaction is stored verbatim). */
async function rebuildPayload(harness: PaidHarness, paymentId: string) {
  const row = await harness.db.selectFrom('payments').selectAll().where('id', '=', paymentId).executeTakeFirstOrThrow();
  const requirements = harness.stack.service.requirementsFor({
    product: createCard,
    price: { loadCents: row.load_cents, cardFeeCents: 0, topUpFeeCents: 0, totalCents: row.total_cents, totalAtomic: BigInt(row.amount_atomic) },
    body: BODY,
  });
  return { x402Version: 2, accepted: requirements, payload: { transaction: row.payment_xdr } };
}

const hang = () => new Promise<never>(() => {});

describe('crash recovery: whatever a crash leaves behind is finished at the next start', () => {
  it.each([
    ['before the provider is asked for the card', false],
    ['after the provider issued the card, before it was recorded', true],
  ])('a crash between settlement and issuing (%s): the next start issues the card, once', async (_label, issuedFirst) => {
    let issuing = false;
    h = await makePaidHarness({
      issuer: (sandbox): CardIssuer => ({
        checkCapacity: (r) => sandbox.checkCapacity(r),
        issueCard: async (r) => {
          if (issuedFirst) await sandbox.issueCard(r); // committed before the crash
          issuing = true;
          return hang(); // the process dies here
        },
        fundCard: (r) => sandbox.fundCard(r),
      }),
    });
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    void send(h, await signed(h, agent)).catch(() => undefined);
    await until(async () => issuing, 'settlement, then issuing');
    // Settled on the ledger; the database holds the payment as `settling` with the hash of the
    // transaction that landed (recorded before it was sent), nothing about a card yet.
    const crashed = await harness.db.selectFrom('payments').select(['status', 'settle_tx_hash', 'card_id']).executeTakeFirstOrThrow();
    expect(crashed).toMatchObject({ status: 'settling', card_id: null });
    expect((await h.stack.rpc.transaction(crashed.settle_tx_hash!)).status).toBe('SUCCESS');
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    expect(h.issuer.calls.issue).toBe(issuedFirst ? 1 : 0);

    await h.crash();
    const restarted = h.restart();
    const runtime = await startPaymentRuntime(restarted.service, h.config, createMemoryLogger());
    await runtime.stop();
    expect(runtime.recovered).toEqual({ fulfilled: 1 });
    expect(h.issuer.calls.issue).toBe(1);
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(1);
    const recovered = await harness.db.selectFrom('payments').select(['status', 'settle_tx_hash', 'settled_ledger']).executeTakeFirstOrThrow();
    expect(recovered).toMatchObject({ status: 'fulfilled', settle_tx_hash: crashed.settle_tx_hash, settled_ledger: expect.any(Number) });
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it.each([
    ['before the envelope reached the network', false],
    ['after the envelope reached the network', true],
  ])('a crash while sending the settlement (%s): the next start resolves it without charging twice', async (_label, delivered) => {
    h = await makePaidHarness({
      rpcFetch: (inner: FetchLike) => async (url, init) => {
        if (rpcMethod(init) !== 'sendTransaction') return inner(url, init);
        if (delivered) await inner(url, init);
        return hang();
      },
    });
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    void send(h, await signed(h, agent)).catch(() => undefined);
    await until(async () => Boolean((await harness.db.selectFrom('payments').select('settle_tx_hash').executeTakeFirst())?.settle_tx_hash), 'a recorded envelope');

    await h.crash();
    const restarted = h.restart({ rpcFetch: (url, init) => fetch(url, init) });
    await until(async () => (await restarted.service.reconcile(), (await harness.db.selectFrom('payments').select('status').executeTakeFirst())?.status === 'fulfilled'), 'recovery');
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    expect(h.issuer.calls.issue).toBe(1);
    await expectNothingLost(h, treasury);
  });
});
