import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { CardIssuer } from '../../src/cards/issuer.js';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { startPaymentRuntime } from '../../src/payments/wiring.js';
import type { FetchLike } from '../../src/stellar/rpc.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const LOAD_USDC = 25n;
/** Card $10 + load $25 + 3.5 % of the load. */
const CREATE_PRICE = 35_8750000n;

function rpcMethod(init: RequestInit): string {
  return (JSON.parse(String(init.body)) as { method: string }).method;
}

async function until(check: () => Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function signed(harness: PaidHarness, wallet: Keypair, method: string, route: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(harness.baseUrl + route, { method, headers: { ...walletAuthHeadersV2(wallet, { method, url: route }), ...headers } });
}

/** An agent buys a $25 card naming `owner` its owner; the owner has an account (and a USDC trustline) on the ledger. */
async function buyCard(harness: PaidHarness, owner?: Keypair) {
  const agent = harness.agent(100n * USDC);
  const body = { nameOnCard: 'Close Test', email: 'close@example.com', ...(owner ? { ownerAddress: owner.publicKey() } : {}) };
  const { response } = await harness.pay(agent, `/cards/create/tier/${LOAD_USDC}`, body);
  const created = await bodyOf(response);
  expect(response.status, JSON.stringify(created)).toBe(201);
  return { agent, cardId: created.card.cardId as string };
}

const usdc = (harness: PaidHarness, kp: Keypair) => harness.localnet.usdcBalance(kp.publicKey());

describe('closing a card returns its balance on-chain to the owner (local ledger, real HTTP)', () => {
  it('the owner closes the card: its USDC balance rises by exactly the card balance, sent once; GET shows the closure', async () => {
    h = await makePaidHarness();
    const treasuryBefore = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const owner = h.agent(0n);
    const { agent, cardId } = await buyCard(h, owner);
    const ownerBefore = usdc(h, owner);
    const agentAfterPurchase = usdc(h, agent);

    const res = await signed(h, owner, 'DELETE', `/cards/${cardId}`);
    const closed = await bodyOf(res);
    expect(res.status, JSON.stringify(closed)).toBe(200);
    expect(closed).toMatchObject({
      success: true,
      cardId,
      status: 'closed',
      closure: {
        closedBy: owner.publicKey(),
        refund: { status: 'sent', amount: 25, amountCents: 2_500, amountAtomic: String(LOAD_USDC * USDC), to: owner.publicKey(), txHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      },
    });
    expect(usdc(h, owner)).toBe(ownerBefore + LOAD_USDC * USDC);
    expect(usdc(h, agent)).toBe(agentAfterPurchase);
    expect((await h.stack.rpc.transaction(closed.closure.refund.txHash)).status).toBe('SUCCESS');

    const read = await bodyOf(await signed(h, agent, 'GET', `/cards/${cardId}`));
    expect(read.card).toMatchObject({ status: 'closed', balanceCents: 0, closure: closed.closure });

    // Twice: the same closure, nothing sent again, also after reconciler passes.
    const again = await signed(h, owner, 'DELETE', `/cards/${cardId}`);
    expect(again.status).toBe(200);
    expect(await bodyOf(again)).toEqual(closed);
    await h.stack.service.reconcile();
    await h.stack.service.reconcile();
    expect(usdc(h, owner)).toBe(ownerBefore + LOAD_USDC * USDC);
    // The treasury holds what the purchase paid, less the load it gave back.
    await expectNothingLost(h, treasuryBefore - LOAD_USDC * USDC);
  });

  it('a zero balance closes with no transfer', async () => {
    h = await makePaidHarness();
    const agent = h.agent(100n * USDC);
    const { response } = await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'Empty', email: 'e@example.com' });
    const cardId = (await bodyOf(response)).card.cardId;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const res = await signed(h, agent, 'DELETE', `/cards/${cardId}`);
    expect((await bodyOf(res)).closure.refund).toMatchObject({ status: 'none', amountCents: 0, txHash: null });
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
  });

  it('the holder is refused 403 OWNER_ONLY and a stranger 404; nothing moves', async () => {
    h = await makePaidHarness();
    const owner = h.agent(0n);
    const { agent, cardId } = await buyCard(h, owner);
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const byHolder = await signed(h, agent, 'DELETE', `/cards/${cardId}`);
    expect(byHolder.status).toBe(403);
    expect((await bodyOf(byHolder)).code).toBe('OWNER_ONLY');
    const byStranger = await signed(h, Keypair.random(), 'DELETE', `/cards/${cardId}`);
    expect(byStranger.status).toBe(404);
    expect((await bodyOf(await signed(h, owner, 'GET', `/cards/${cardId}`))).card.status).toBe('active');
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
  });

  it('a closed card cannot be funded: 409 CARD_CLOSED before any payment is asked for, and again for a payment signed before the close', async () => {
    h = await makePaidHarness();
    const { agent, cardId } = await buyCard(h);
    const route = '/cards/fund/tier/10';
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cardId }) };
    // A payment prepared while the card is open…
    const challenge = await fetch(h.baseUrl + route, init);
    expect(challenge.status).toBe(402);
    const payment = encodePayment(
      await createExactPayment(await readPaymentRequired(challenge), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: h.ledgerServer.rpcUrl, ledgerSeconds: h.config.x402.ledgerSeconds }),
    );
    expect((await signed(h, agent, 'DELETE', `/cards/${cardId}`)).status).toBe(200);
    const agentBefore = usdc(h, agent);

    const asked = await fetch(h.baseUrl + route, init);
    expect(asked.status).toBe(409);
    expect(asked.headers.get('PAYMENT-REQUIRED')).toBeNull();
    expect((await bodyOf(asked)).code).toBe('CARD_CLOSED');
    // …is refused before it is settled.
    const paid = await fetch(h.baseUrl + route, { ...init, headers: { ...init.headers, 'PAYMENT-SIGNATURE': payment } });
    expect(paid.status).toBe(409);
    expect((await bodyOf(paid)).code).toBe('CARD_CLOSED');
    expect(usdc(h, agent)).toBe(agentBefore);
    expect(await h.db.selectFrom('payments').select('id').where('kind', '=', 'fund').execute()).toEqual([]);
  });

  it('a card closed while its top-up is being fulfilled gets no load: the top-up is refunded to the payer', async () => {
    let closeDuringFunding: (() => Promise<void>) | undefined;
    h = await makePaidHarness({
      env: { FULFIL_MAX_ATTEMPTS: '1' },
      issuer: (sandbox): CardIssuer => ({
        checkCapacity: (r) => sandbox.checkCapacity(r),
        issueCard: (r) => sandbox.issueCard(r),
        fundCard: async (r) => {
          const result = await sandbox.fundCard(r);
          await closeDuringFunding?.();
          return result;
        },
      }),
    });
    const harness = h;
    const { agent, cardId } = await buyCard(h);
    let closeAnswer: Response | undefined;
    closeDuringFunding = async () => {
      closeDuringFunding = undefined;
      closeAnswer = await signed(harness, agent, 'DELETE', `/cards/${cardId}`);
    };
    const before = usdc(h, agent);
    const { response } = await h.pay(agent, '/cards/fund/tier/10', { cardId });
    expect(response.status).toBe(502);
    expect(closeAnswer?.status).toBe(200);
    // The close returned the $25 load; the top-up ($10.35) is refunded once the fulfilment gives up.
    await until(async () => (await h!.stack.service.reconcile(), (await harness.db.selectFrom('payments').select('status').where('kind', '=', 'fund').executeTakeFirst())?.status === 'refunded'), 'the top-up refund');
    expect(usdc(h, agent)).toBe(before + LOAD_USDC * USDC);
    const entries = await h.db.selectFrom('card_ledger_entries').select(['kind', 'amount_cents']).where('card_id', '=', cardId).orderBy('seq').execute();
    expect(entries).toEqual([
      { kind: 'initial_load', amount_cents: 2_500 },
      { kind: 'closure', amount_cents: -2_500 },
    ]);
  });
});

const hang = () => new Promise<never>(() => {});

describe('closing survives a crash: the recorded refund is sent exactly once after a restart', () => {
  it.each([
    ['after the refund was recorded, before its envelope was built', 'simulateTransaction', false],
    ['after the envelope was recorded, before it reached the network', 'sendTransaction', false],
    ['after the envelope reached the network, before the answer came back', 'sendTransaction', true],
  ] as const)('a crash %s', async (_label, hangOn, delivered) => {
    let crash = false;
    h = await makePaidHarness({
      rpcFetch: (inner: FetchLike) => async (url, init) => {
        if (!crash || rpcMethod(init) !== hangOn) return inner(url, init);
        if (delivered) await inner(url, init);
        return hang(); // the process dies here
      },
    });
    const harness = h;
    const treasuryBefore = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const owner = h.agent(0n);
    const { cardId } = await buyCard(h, owner);
    const ownerBefore = usdc(h, owner);

    crash = true;
    void signed(h, owner, 'DELETE', `/cards/${cardId}`).catch(() => undefined);
    const closure = () => harness.db.selectFrom('card_closures').selectAll().where('card_id', '=', cardId).executeTakeFirst();
    if (hangOn === 'simulateTransaction') {
      await until(async () => (await closure())?.refund_status === 'refunding', 'the recorded closure');
      expect((await closure())!.refund_tx_hash).toBeNull();
    } else {
      await until(async () => Boolean((await closure())?.refund_tx_hash), 'a recorded refund envelope');
    }
    // The card is closed and its balance is owed, in one transaction, whatever happened to the send.
    expect((await harness.db.selectFrom('cards').select('status').where('id', '=', cardId).executeTakeFirstOrThrow()).status).toBe('closed');
    if (delivered) await until(async () => usdc(harness, owner) === ownerBefore + LOAD_USDC * USDC, 'the delivered refund to land');
    else expect(usdc(h, owner)).toBe(ownerBefore);

    await h.crash();
    const restarted = h.restart({ rpcFetch: (url, init) => fetch(url, init) });
    const runtime = await startPaymentRuntime(restarted.service, h.config, createMemoryLogger());
    await runtime.stop();
    await until(async () => (await restarted.service.reconcile(), (await closure())?.refund_status === 'refunded'), 'the refund to land');
    expect(usdc(h, owner)).toBe(ownerBefore + LOAD_USDC * USDC);
    await restarted.service.reconcile();
    expect(usdc(h, owner)).toBe(ownerBefore + LOAD_USDC * USDC);
    const landed = (await closure())!;
    expect((await restarted.rpc.transaction(landed.refund_tx_hash!)).status).toBe('SUCCESS');
    await expectNothingLost(h, treasuryBefore - LOAD_USDC * USDC);
  });
});
