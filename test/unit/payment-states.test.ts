import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';
import type { PaymentRow, PaymentStatus } from '../../src/db/schema.js';
import { findPayment, insertPayment, transitionPayment } from '../../src/payments/repository.js';
import { IllegalTransitionError, INITIAL_STATUSES, PAYMENT_STATUSES, PAYMENT_TRANSITIONS } from '../../src/payments/state.js';

/** The payment lifecycle table is the only way a status changes (src/payments/state.ts). */

let db: Db;
beforeAll(async () => {
  db = openTestDb();
  await migrateToLatest(db);
});
afterAll(async () => {
  await db.destroy();
});

function row(status: PaymentStatus): PaymentRow {
  return {
    id: randomUUID(),
    kind: 'create',
    payer: `G${randomUUID()}`,
    auth_nonce: String(Math.floor(Math.random() * 1e15)),
    auth_expiration_ledger: 100,
    idempotency_key: null,
    request_fingerprint: 'f',
    request_json: '{}',
    network: 'stellar:testnet',
    asset: 'C',
    pay_to: 'G',
    amount_atomic: '1',
    load_cents: 0,
    total_cents: 1000,
    payment_xdr: 'AAAA',
    status,
    settle_tx_hash: null,
    settle_envelope_xdr: null,
    settled_ledger: null,
    card_id: null,
    response_json: null,
    fulfil_attempts: 0,
    last_error: null,
    refund_tx_hash: null,
    refund_envelope_xdr: null,
    created_at: 1,
    updated_at: 1,
    fate_closed_at: null,
    mandate_id: null,
    holder: null,
  };
}

/** A payment already in `status`, written directly (as a row from any point of its life would be). */
async function paymentIn(status: PaymentStatus): Promise<string> {
  const r = row(status);
  await db.insertInto('payments').values(r).execute();
  return r.id;
}

const allowed = PAYMENT_STATUSES.flatMap((from) => PAYMENT_TRANSITIONS[from].map((to) => [from, to] as const));
const forbidden = PAYMENT_STATUSES.flatMap((from) => PAYMENT_STATUSES.filter((to) => !PAYMENT_TRANSITIONS[from].includes(to)).map((to) => [from, to] as const));

describe('payment lifecycle', () => {
  it('lists every status and no edge out of a final one', () => {
    expect(new Set(PAYMENT_STATUSES)).toEqual(new Set(['verified', 'settling', 'settled', 'fulfilled', 'paid_unfulfilled', 'refunding', 'refunded', 'failed', 'needs_review']));
    for (const final of ['fulfilled', 'refunded', 'needs_review'] as const) expect(PAYMENT_TRANSITIONS[final]).toEqual([]);
  });

  it.each(allowed)('allows %s → %s', async (from, to) => {
    const id = await paymentIn(from);
    expect(await transitionPayment(db, id, [from], { status: to, updated_at: 2 })).toBe(true);
    expect((await findPayment(db, id))?.status).toBe(to);
  });

  it.each(forbidden)('refuses %s → %s and changes nothing', async (from, to) => {
    const id = await paymentIn(from);
    await expect(transitionPayment(db, id, [from], { status: to, updated_at: 2 })).rejects.toBeInstanceOf(IllegalTransitionError);
    expect((await findPayment(db, id))?.status).toBe(from);
  });

  it('an update without a status is a self-edge, refused where the table has none', async () => {
    const settling = await paymentIn('settling');
    expect(await transitionPayment(db, settling, ['settling'], { settle_tx_hash: 'ab', updated_at: 2 })).toBe(true);
    const fulfilled = await paymentIn('fulfilled');
    await expect(transitionPayment(db, fulfilled, ['fulfilled'], { last_error: 'x', updated_at: 2 })).rejects.toBeInstanceOf(IllegalTransitionError);
  });

  it('is compare-and-set: a payment no longer in the from-state is not moved', async () => {
    const id = await paymentIn('settling');
    expect(await transitionPayment(db, id, ['settling'], { status: 'failed', updated_at: 2 })).toBe(true);
    expect(await transitionPayment(db, id, ['settling'], { status: 'settled', updated_at: 3 })).toBe(false);
    expect((await findPayment(db, id))?.status).toBe('failed');
  });

  it.each(['settling', 'failed'] as const)('records a new payment as %s', async (status) => {
    expect(INITIAL_STATUSES).toContain(status);
    const r = row(status);
    await insertPayment(db, r);
    expect((await findPayment(db, r.id))?.status).toBe(status);
  });

  it.each(PAYMENT_STATUSES.filter((s) => !INITIAL_STATUSES.includes(s)))('never records a new payment as %s', async (status) => {
    const r = row(status);
    await expect(insertPayment(db, r)).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(await findPayment(db, r.id)).toBeUndefined();
  });
});
