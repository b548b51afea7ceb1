import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimPaymentRequest, completePaymentRequest, findPaymentRequest, rejectPaymentRequest } from '../../src/approvals/repository.js';
import { requestStatus } from '../../src/approvals/state.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';
import type { PaymentStatus } from '../../src/db/schema.js';

/**
 * The claim is what makes a request payable once: it runs in the write that records the owner's
 * payment, after every check of the route, so it alone decides. Each refusal, one case each, on a
 * real SQLite database.
 */

const NOW = 1_800_000_000_000;
const OWNER = 'GOWNER';
const AMOUNT = '358800000';
let db: Db;

beforeEach(async () => {
  db = openTestDb();
  await migrateToLatest(db);
});
afterEach(async () => {
  await db.destroy();
});

async function request(overrides: Record<string, unknown> = {}): Promise<string> {
  const id = `pr_${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  await db
    .insertInto('payment_requests')
    .values({
      id,
      agent_address: 'GAGENT',
      owner_address: null,
      kind: 'create',
      load_cents: 2500,
      card_fee_cents: 1000,
      top_up_fee_cents: 88,
      total_cents: 3588,
      amount_atomic: AMOUNT,
      body_json: '{"nameOnCard":"Ada","email":"ada@example.com"}',
      note: null,
      token_hash: 'a'.repeat(64),
      status: 'pending',
      payment_id: null,
      approver_address: null,
      card_id: null,
      expires_at: NOW + 60_000,
      answered_at: null,
      created_at: NOW,
      updated_at: NOW,
      ...overrides,
    })
    .execute();
  return id;
}

async function payment(id: string, status: PaymentStatus): Promise<void> {
  await db
    .insertInto('payments')
    .values({
      id,
      kind: 'owner_approved',
      payer: OWNER,
      auth_nonce: id,
      auth_expiration_ledger: 1,
      idempotency_key: null,
      request_fingerprint: 'f',
      request_json: '{}',
      network: 'stellar:testnet',
      asset: 'C',
      pay_to: 'G',
      amount_atomic: AMOUNT,
      load_cents: 2500,
      total_cents: 3588,
      payment_xdr: 'x',
      status,
      settle_tx_hash: null,
      settle_envelope_xdr: null,
      settled_ledger: null,
      card_id: null,
      response_json: null,
      last_error: null,
      refund_tx_hash: null,
      refund_envelope_xdr: null,
      created_at: NOW,
      updated_at: NOW,
      fate_closed_at: null,
    })
    .execute();
}

const claim = (id: string, paymentId = 'p-new', payer = OWNER, amountAtomic = AMOUNT, nowMs = NOW) =>
  claimPaymentRequest(db, id, { id: paymentId, payer, amountAtomic }, nowMs);

describe('claiming a payment request for a payment', () => {
  it('takes a pending request once: the second claim is refused', async () => {
    const id = await request();
    expect(await claim(id, 'p1')).toBe(true);
    expect(await findPaymentRequest(db, id)).toMatchObject({ status: 'approved', payment_id: 'p1', approver_address: OWNER, answered_at: NOW });
    expect(await claim(id, 'p2')).toBe(false);
  });

  it.each([
    ['an expired request', { expires_at: NOW }, {}],
    ['a rejected request', { status: 'rejected' }, {}],
    ['a completed request', { status: 'completed' }, {}],
    ['another amount than quoted', {}, { amountAtomic: '358799999' }],
    ['another wallet than the owner the agent named', { owner_address: 'GSOMEONE' }, {}],
  ])('refuses %s', async (_label, row, args: { amountAtomic?: string }) => {
    const id = await request(row);
    expect(await claim(id, 'p1', OWNER, args.amountAtomic ?? AMOUNT)).toBe(false);
    expect((await findPaymentRequest(db, id))!.payment_id).toBeNull();
  });

  it.each<[PaymentStatus, boolean]>([
    ['failed', true],
    ['settling', false],
    ['paid_unfulfilled', false],
    ['fulfilled', false],
    ['refunded', false],
    ['needs_review', false],
  ])('a request claimed by a payment that is %s can be claimed again: %s', async (status, again) => {
    await payment('p1', status);
    const id = await request({ status: 'approved', payment_id: 'p1', approver_address: OWNER });
    expect(await claim(id, 'p2')).toBe(again);
    expect((await findPaymentRequest(db, id))!.payment_id).toBe(again ? 'p2' : 'p1');
  });

  it('completes only for the payment that holds the claim', async () => {
    const id = await request();
    await claim(id, 'p1');
    expect(await completePaymentRequest(db, id, 'p2', 'card', NOW)).toBe(false);
    expect(await completePaymentRequest(db, id, 'p1', 'card', NOW)).toBe(true);
    expect(await rejectPaymentRequest(db, id, NOW)).toBe(false);
  });
});

describe('the status shown', () => {
  it.each<[string, Record<string, unknown>, PaymentStatus | undefined, string]>([
    ['pending', {}, undefined, 'pending'],
    ['pending past its expiry', { expires_at: NOW }, undefined, 'expired'],
    ['approved, settling', { status: 'approved' }, 'settling', 'approved'],
    ['approved, paid but not fulfilled yet', { status: 'approved' }, 'paid_unfulfilled', 'approved'],
    ['approved, refunding', { status: 'approved' }, 'refunding', 'failed'],
    ['approved, refunded', { status: 'approved' }, 'refunded', 'failed'],
    ['approved, its payment failed (no money moved)', { status: 'approved' }, 'failed', 'pending'],
    ['approved, its payment failed, past expiry', { status: 'approved', expires_at: NOW }, 'failed', 'expired'],
    ['completed', { status: 'completed' }, 'fulfilled', 'completed'],
    ['rejected', { status: 'rejected' }, undefined, 'rejected'],
  ])('%s → %s', async (_label, row, paymentStatus, shown) => {
    const id = await request(row);
    expect(requestStatus((await findPaymentRequest(db, id))!, paymentStatus, NOW)).toBe(shown);
  });
});
