import type { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { Localnet } from '../../src/localnet/index.js';
import type { PaymentPayload } from '../../src/protocol/x402.js';
import { startExternalFacilitator, type SettleMode } from '../helpers/external-facilitator.js';
import { burnNonce, countingSends, entryOf, sendPayment, signedPayment, submitPayment, until } from '../helpers/attack.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

/**
 * Issue: the treasury refunded payments that never reached it. Soroban nonces belong to the
 * address, so a payer can spend the nonce of the entry it handed us on a call of its own; a spent
 * nonce proves nothing. These tests replay that attack against the local ledger, for our own
 * facilitator and for an external one, and check that no card is issued and nothing is refunded
 * without the transfer itself (docs/ARCHITECTURE.md, "What proves a payment").
 */

const BODY = { nameOnCard: 'Nora Nonce', email: 'nora@example.com' };
const ROUTE = '/cards/create/tier/25';
const PRICE = 35_8800000n;

let h: PaidHarness | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const close of closers.splice(0)) await close();
});

const signed = (harness: PaidHarness, agent: Keypair) => signedPayment(harness, agent, ROUTE, BODY);
const send = (harness: PaidHarness, payment: PaymentPayload) => sendPayment(harness, ROUTE, BODY, payment);

/** Closes ledgers until the payment's entry has expired, running the reconciler (and a restarted process's recovery) on the way. */
async function reconcilePastExpiry(harness: PaidHarness, payment: PaymentPayload): Promise<void> {
  const { expiration } = entryOf(payment);
  const restarted = harness.restart();
  while (harness.localnet.latestLedger() <= expiration + 1) {
    await harness.localnet.closeLedger();
    if (harness.localnet.latestLedger() % 7 === 0) await harness.stack.service.reconcile();
  }
  await harness.stack.service.reconcile();
  await restarted.service.reconcile();
  await harness.stack.service.reconcile();
}

async function paymentsOf(harness: PaidHarness, payer: string) {
  return harness.db.selectFrom('payments').selectAll().where('payer', '=', payer).execute();
}

async function cardsOf(harness: PaidHarness, holder: string) {
  return harness.db.selectFrom('cards').select('id').where('agent_address', '=', holder).execute();
}

describe('a nonce burned by the payer is not a payment: our own facilitator', () => {
  it('burned in the same ledger, applied before our settlement: 402, then no card and no refund, ever', async () => {
    const sends = countingSends();
    h = await makePaidHarness({ ledgerMs: 'manual', rpcFetch: sends.rpcFetch });
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const accomplice = h.agent(0n);
    const payment = await signed(h, agent);

    // The payer's own transaction with the same nonce is queued first…
    await burnNonce(h.ledgerServer.rpcUrl, payment, agent, accomplice, h.config.stellar.usdcContract);
    // …then it hands card402 the payment, which verifies against the last closed ledger and sends.
    const answer = send(h, payment);
    await until(() => sends.sent() > 0, 'card402 to send its settlement');
    await h.localnet.closeLedger();
    const response = await answer;
    const body = await bodyOf(response);
    expect(response.status, JSON.stringify(body)).toBe(402);
    expect(body.reason).toBe('settlement_failed');

    await reconcilePastExpiry(h, payment);
    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('failed');
    expect(row?.refund_tx_hash).toBeNull();
    expect(row?.fate_closed_at).not.toBeNull();
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(0);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    // Sent again, the payment is still just failed.
    const again = await send(h, payment);
    expect((await bodyOf(again)).reason).toBe('payment_failed');
    expect(harness.logs.some((line) => line.includes('nonce was spent by another invocation'))).toBe(true);
    await expectNothingLost(h, treasury);
  });

  it('burned in the same ledger, sent after our settlement: ours applies first, one card for one charge', async () => {
    const sends = countingSends();
    h = await makePaidHarness({ ledgerMs: 'manual', rpcFetch: sends.rpcFetch });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const accomplice = h.agent(0n);
    const payment = await signed(h, agent);
    const answer = send(h, payment);
    await until(() => sends.sent() > 0, 'card402 to send its settlement');
    await burnNonce(h.ledgerServer.rpcUrl, payment, agent, accomplice, h.config.stellar.usdcContract);
    await h.localnet.closeLedger();
    const response = await answer;
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
    await reconcilePastExpiry(h, payment);
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(1);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    await expectNothingLost(h, treasury);
  });

  it('burned in an earlier ledger: refused at verification, nothing recorded', async () => {
    h = await makePaidHarness({ ledgerMs: 'manual' });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const payment = await signed(h, agent);
    await burnNonce(h.ledgerServer.rpcUrl, payment, agent, h.agent(0n), h.config.stellar.usdcContract);
    await h.localnet.closeLedger();
    const response = await send(h, payment);
    expect(response.status).toBe(402);
    expect(await paymentsOf(h, agent.publicKey())).toHaveLength(0);
    await reconcilePastExpiry(h, payment);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
  });

  it('a failed payment whose real transfer a third party lands later is refunded, with the transfer as evidence', async () => {
    h = await makePaidHarness({ ledgerMs: 'manual', env: { SETTLE_POLL_TIMEOUT_MS: '300' } });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    h.localnet.faults.failNextSend('ERROR', 50);
    const payment = await signed(h, agent);
    const failed = await send(h, payment);
    expect((await bodyOf(failed)).reason).toBe('settlement_failed');
    h.localnet.faults.failNextSend('ERROR', 0);
    const landed = await submitPayment(h.ledgerServer.rpcUrl, payment, h.agent(0n));
    await h.localnet.closeLedger();
    await h.stack.service.reconcile(); // finds the transfer, sends the refund
    await h.localnet.closeLedger();
    await h.stack.service.reconcile(); // sees the refund land
    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('refunded');
    expect(row?.settle_tx_hash).toBe(landed);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
  });
});

let settleCalls = () => 0;
/** An external facilitator for the harness, closed after the test; `mode()` decides what each /settle meets. */
async function externalFacilitator(ctx: { rpcUrl: string; localnet: Localnet }, mode: () => SettleMode) {
  const external = await startExternalFacilitator(ctx, mode);
  closers.push(external.close);
  settleCalls = external.settleCalls;
  return external.client;
}

describe('a nonce burned by the payer is not a payment: an external facilitator', () => {
  it('its answer was lost and nothing was sent; the payer burns the nonce: the reconciler marks it failed, no card, no refund', async () => {
    let mode: SettleMode = { kind: 'drop_request' };
    h = await makePaidHarness({ ledgerMs: 'manual', facilitator: (ctx) => externalFacilitator(ctx, () => mode) });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const payment = await signed(h, agent);
    const response = await send(h, payment);
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(409);
    expect((await paymentsOf(h, agent.publicKey()))[0]?.status).toBe('settling');

    await burnNonce(h.ledgerServer.rpcUrl, payment, agent, h.agent(0n), h.config.stellar.usdcContract);
    await h.localnet.closeLedger();
    await h.stack.service.reconcile();
    await h.restart().service.reconcile();
    mode = { kind: 'forward' };
    await reconcilePastExpiry(h, payment);

    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('failed');
    expect(row?.last_error).toBe('nonce_spent_elsewhere');
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(0);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC);
    await expectNothingLost(h, treasury);
  });

  it('it claims success with a transaction that is not the transfer (the burn): no card; the reconciler marks it failed', async () => {
    let mode: SettleMode = { kind: 'forward' };
    h = await makePaidHarness({ ledgerMs: 'manual', env: { SETTLE_POLL_TIMEOUT_MS: '300' }, facilitator: (ctx) => externalFacilitator(ctx, () => mode) });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const payment = await signed(h, agent);
    const burn = await burnNonce(h.ledgerServer.rpcUrl, payment, agent, h.agent(0n), h.config.stellar.usdcContract);
    mode = { kind: 'claim', txHash: burn };
    const before = settleCalls();
    const answer = send(h, payment);
    await until(() => settleCalls() > before, 'card402 to call /settle');
    await h.localnet.closeLedger(); // the burn lands: the claimed hash is a successful transaction, but not the transfer
    const response = await answer;
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(409);
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(0);

    await reconcilePastExpiry(h, payment);
    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('failed');
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(0);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
    expect(h.logs.some((line) => line.includes('not this payment’s transfer'))).toBe(true);
  });

  it('it sent the transfer but its answer was lost: the reconciler finds the transfer on the ledger and issues the card', async () => {
    let mode: SettleMode = { kind: 'drop_answer' };
    h = await makePaidHarness({ facilitator: (ctx) => externalFacilitator(ctx, () => mode) });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const payment = await signed(h, agent);
    const response = await send(h, payment);
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(409);
    const harness = h;
    await until(() => harness.localnet.usdcBalance(agent.publicKey()) === 100n * USDC - PRICE, 'the transfer to land');
    mode = { kind: 'forward' };
    await h.stack.service.reconcile();
    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('fulfilled');
    expect(row?.settle_tx_hash).toMatch(/^[0-9a-f]{64}$/);
    const replay = await send(h, payment);
    expect(replay.status).toBe(201);
    await expectNothingLost(h, treasury);
  });

  it('when the ledger no longer remembers where the transfer could have landed, the payment goes to review: no card, no refund, reported by /health', async () => {
    let nowMs = Date.now();
    let mode: SettleMode = { kind: 'drop_answer' };
    h = await makePaidHarness({
      ledgerMs: 'manual',
      ledgerClock: () => nowMs,
      historySeconds: 60,
      facilitator: (ctx) => externalFacilitator(ctx, () => mode),
    });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);
    const payment = await signed(h, agent);
    const answer = send(h, payment);
    const harness = h;
    // Let the facilitator's transaction land, then let the ledger forget it before card402 looks.
    const closer = setInterval(() => void harness.localnet.closeLedger(), 20);
    const response = await answer;
    clearInterval(closer);
    expect(response.status).toBe(409);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - PRICE);
    nowMs += 3_600_000;
    for (let i = 0; i < 3; i++) await h.localnet.closeLedger();
    mode = { kind: 'forward' };
    await reconcilePastExpiry(h, payment);

    const [row] = await paymentsOf(h, agent.publicKey());
    expect(row?.status).toBe('needs_review');
    expect(await cardsOf(h, agent.publicKey())).toHaveLength(0);
    expect(row?.refund_tx_hash).toBeNull();
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury + PRICE);
    const health = await bodyOf(await fetch(h.baseUrl + '/health'));
    expect(health.paymentsNeedingReview).toBe(1);
    const replay = await send(h, payment);
    const replayBody = await bodyOf(replay);
    expect(replay.status).toBe(409);
    expect(replayBody.code).toBe('PAYMENT_UNDER_REVIEW');
    expect(h.logs.some((line) => line.includes('needs review'))).toBe(true);
  });
});
