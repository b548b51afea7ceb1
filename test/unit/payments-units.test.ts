import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';
import { DuplicatePaymentError, insertPayment, replaceRefund, transitionPayment } from '../../src/payments/repository.js';
import { ChannelPool } from '../../src/stellar/channels.js';
import type { SorobanRpc } from '../../src/stellar/rpc.js';
import { buildPaymentRequired, buildRequirements } from '../../src/x402/challenge.js';
import { decodeJsonHeader, decodePaymentHeader, encodeJsonHeader } from '../../src/protocol/x402-codec.js';

const terms = { network: 'stellar:testnet', asset: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA', payTo: Keypair.random().publicKey(), maxTimeoutSeconds: 60 };
const payload = {
  x402Version: 2,
  accepted: buildRequirements(terms, 10n),
  payload: { transaction: 'AAAA' },
};

describe('payment header codec', () => {
  it('reads base64 JSON and raw JSON', () => {
    expect(decodePaymentHeader(encodeJsonHeader(payload))).toEqual({ ok: true, payload });
    expect(decodePaymentHeader(JSON.stringify(payload))).toEqual({ ok: true, payload });
  });
  it.each([
    ['empty', ''],
    ['not base64', 'a b c'],
    ['base64 of not-JSON', Buffer.from('hello').toString('base64')],
    ['JSON of the wrong shape', encodeJsonHeader({ x402Version: 2 })],
    ['a transaction that is not a string', encodeJsonHeader({ ...payload, payload: { transaction: 5 } })],
    ['too large', 'A'.repeat(200_000)],
  ])('refuses %s as invalid_payment_header', (_label, header) => {
    expect(decodePaymentHeader(header)).toEqual({ ok: false, reason: 'invalid_payment_header' });
  });
  it('round-trips PAYMENT-REQUIRED', () => {
    const required = buildPaymentRequired({ resourceUrl: 'https://x/y', description: 'd', requirements: buildRequirements(terms, 5n), reason: 'wrong_amount' });
    expect(decodeJsonHeader(encodeJsonHeader(required))).toEqual(required);
  });
  it('never asks for a non-positive amount', () => {
    expect(() => buildRequirements(terms, 0n)).toThrow(RangeError);
  });
});

describe('channel pool', () => {
  const rpc = { accountSequence: async () => 100n } as unknown as SorobanRpc;

  it('hands out each channel to one holder at a time, FIFO to waiters', async () => {
    const pool = new ChannelPool([Keypair.random(), Keypair.random()], rpc);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a.address).not.toBe(b.address);
    const order: string[] = [];
    const c = pool.acquire().then((lease) => (order.push('c'), lease));
    const d = pool.acquire().then((lease) => (order.push('d'), lease));
    await Promise.resolve();
    expect(order).toEqual([]);
    b.release();
    b.release(); // idempotent: not handed out twice
    const leaseC = await c;
    expect(leaseC.address).toBe(b.address);
    expect(order).toEqual(['c']);
    a.release();
    expect((await d).address).toBe(a.address);
    expect(pool.idleCount).toBe(0);
  });

  it('tracks sequence numbers locally and reloads after invalidation', async () => {
    let onLedger = 100n;
    const counting = { accountSequence: async () => onLedger } as unknown as SorobanRpc;
    const pool = new ChannelPool([Keypair.random()], counting);
    const lease = await pool.acquire();
    expect(await lease.currentSequence()).toBe(100n);
    lease.consumed(101n);
    onLedger = 250n;
    expect(await lease.currentSequence()).toBe(101n);
    lease.invalidate();
    expect(await lease.currentSequence()).toBe(250n);
  });
});

describe('payments table', () => {
  it('refuses a second payment with the same (payer, nonce) and transitions by compare-and-set', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const row = {
      id: randomUUID(), kind: 'create' as const, payer: 'GPAYER', auth_nonce: '42', auth_expiration_ledger: 10, idempotency_key: null,
      request_fingerprint: 'f', request_json: '{}', network: 'stellar:testnet', asset: 'C', pay_to: 'G', amount_atomic: '1', load_cents: 0,
      total_cents: 1000, payment_xdr: 'x', status: 'settling' as const, settle_tx_hash: null, settle_envelope_xdr: null, settled_ledger: null,
      card_id: null, response_json: null, last_error: null, refund_tx_hash: null, refund_envelope_xdr: null, created_at: 1, updated_at: 1,
      fate_closed_at: null,
    };
    await insertPayment(db, row);
    await expect(insertPayment(db, { ...row, id: randomUUID() })).rejects.toBeInstanceOf(DuplicatePaymentError);
    await insertPayment(db, { ...row, id: randomUUID(), auth_nonce: '43' });
    expect(await transitionPayment(db, row.id, ['settling'], { status: 'paid_unfulfilled', updated_at: 2 })).toBe(true);
    expect(await transitionPayment(db, row.id, ['settling'], { status: 'settled', updated_at: 3 })).toBe(false);
    await expect(transitionPayment(db, row.id, ['paid_unfulfilled'], { status: 'nonsense' as never, updated_at: 4 })).rejects.toThrow();

    // Two processes refunding the same payment: only the first to record its refund may send it.
    expect(await transitionPayment(db, row.id, ['paid_unfulfilled'], { status: 'refunding', updated_at: 5 })).toBe(true);
    expect(await replaceRefund(db, row.id, null, { txHash: 'a'.repeat(64), envelopeXdr: 'A', nowMs: 6 })).toBe(true);
    expect(await replaceRefund(db, row.id, null, { txHash: 'b'.repeat(64), envelopeXdr: 'B', nowMs: 7 })).toBe(false);
    expect(await replaceRefund(db, row.id, 'a'.repeat(64), { txHash: 'c'.repeat(64), envelopeXdr: 'C', nowMs: 8 })).toBe(true);
    const stored = await db.selectFrom('payments').select(['refund_tx_hash', 'refund_envelope_xdr']).where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ refund_tx_hash: 'c'.repeat(64), refund_envelope_xdr: 'C' });
    await db.destroy();
  });
});

describe('payment configuration', () => {
  it('has safe defaults and validates channel secrets', () => {
    const config = loadConfig({});
    expect(config.x402).toMatchObject({ maxTimeoutSeconds: 60, ledgerSeconds: 5, maxFeeStroops: 1_000_000n, facilitatorUrl: undefined });
    expect(config.settlement).toMatchObject({ channelCount: 4, channelSecrets: undefined, fulfilMaxAttempts: 5 });
    expect(config.issuer.capacityCents).toBe(100_000_000);
    const secrets = [Keypair.random().secret(), Keypair.random().secret()];
    expect(loadConfig({ CHANNEL_SECRETS: secrets.join(',') }).settlement.channelSecrets).toEqual(secrets);
    expect(() => loadConfig({ CHANNEL_SECRETS: 'SNOPE' })).toThrow(/CHANNEL_SECRETS/);
    expect(() => loadConfig({ FACILITATOR_URL: 'ftp://x' })).toThrow(/FACILITATOR_URL/);
    expect(() => loadConfig({ CHANNEL_SECRETS: 'SNOPE' })).not.toThrow(/SNOPE/);
  });

  it('takes up to 1024 channel accounts, their seed, funding account and top-up settings (issue 18)', () => {
    expect(loadConfig({ CHANNEL_ACCOUNTS: '512' }).settlement.channelCount).toBe(512);
    expect(loadConfig({ CHANNEL_COUNT: '7' }).settlement.channelCount).toBe(7);
    expect(() => loadConfig({ CHANNEL_ACCOUNTS: '1025' })).toThrow(/CHANNEL_ACCOUNTS/);
    expect(() => loadConfig({ CHANNEL_ACCOUNTS: '0' })).toThrow(/CHANNEL_ACCOUNTS/);
    expect(() => loadConfig({ CHANNEL_ACCOUNTS: '5', CHANNEL_COUNT: '6' })).toThrow(/CHANNEL_COUNT/);
    const secrets = [Keypair.random().secret(), Keypair.random().secret()];
    expect(loadConfig({ CHANNEL_SECRETS: secrets.join(',') }).settlement.channelCount).toBe(2);
    expect(() => loadConfig({ CHANNEL_SECRETS: secrets.join(','), CHANNEL_ACCOUNTS: '3' })).toThrow(/CHANNEL_ACCOUNTS/);
    const seed = 'ab'.repeat(32);
    expect(() => loadConfig({ CHANNEL_SECRETS: secrets.join(','), CHANNEL_SEED: seed })).toThrow(/CHANNEL_SEED/);
    expect(() => loadConfig({ CHANNEL_SEED: 'short' })).toThrow(/CHANNEL_SEED/);
    const config = loadConfig({ CHANNEL_SEED: seed, CHANNEL_LOW_XLM: '3', CHANNEL_TOP_UP_XLM: '10', CHANNEL_CHECK_SECONDS: '30' });
    expect(config.settlement).toMatchObject({ channelLowStroops: 30_000_000n, channelTopUpStroops: 100_000_000n, channelCheckMs: 30_000 });
    expect(config.settlement.channelSeed?.toString('hex')).toBe(seed);
    expect(loadConfig({}).settlement).toMatchObject({ channelLowStroops: 20_000_000n, channelTopUpStroops: 50_000_000n, channelFundingSecret: undefined });
  });
});
