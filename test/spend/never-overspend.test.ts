import { Keypair } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cardFunds } from '../../src/cards/repository.js';
import { spendTotals } from '../../src/cards/spend/repository.js';
import type { SpendingService } from '../../src/cards/spend/service.js';
import { DomainError } from '../../src/errors.js';
import { FREQUENCY_WINDOW_MS, type LimitFrequency } from '../../src/protocol/spending.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';
import { ACME, chargeBody, makeSpendApp, signed } from './helpers.js';

const HOLD_MS = 3_600_000;

type Op =
  | { op: 'authorize'; cents: number }
  | { op: 'capture'; pick: number; cents: number | null }
  | { op: 'reverse'; pick: number }
  | { op: 'refund'; pick: number; cents: number }
  | { op: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('authorize' as const), cents: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('capture' as const), pick: fc.nat(), cents: fc.option(fc.integer({ min: 1, max: 4000 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reverse' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('refund' as const), pick: fc.nat(), cents: fc.integer({ min: 1, max: 4000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 2 * HOLD_MS }) }) },
);

const limitsArb = fc.array(
  fc.record({
    amountCents: fc.integer({ min: 500, max: 12_000 }),
    frequency: fc.constantFrom<LimitFrequency>('perAuthorization', 'per24HourPeriod', 'per7DayPeriod', 'allTime'),
  }),
  { maxLength: 3 },
);

interface ModelAuth {
  id: string;
  createdAt: number;
  held: number;
  captured: number;
  refunded: number;
  status: 'pending' | 'captured' | 'reversed' | 'expired';
}

async function refusal(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
}

describe('never overspend', () => {
  it('random authorize/capture/reverse/refund/expiry sequences: the service agrees with a model, the balance never goes below zero, no limit is passed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20_000 }), limitsArb, fc.array(opArb, { maxLength: 40 }), async (loadCents, limits, ops) => {
        const t = await makeSpendApp({ env: { AUTHORIZATION_HOLD_SECONDS: String(HOLD_MS / 1000) } });
        const spending = t.deps.spending as SpendingService;
        const agent = Keypair.random();
        const card = await seedCard(t, { agent, loadCents });
        if (limits.length) expect((await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits })).status).toBe(200);
        const auths: ModelAuth[] = [];
        const now = () => t.clock.nowMs();
        const expire = () => {
          for (const a of auths) if (a.status === 'pending' && a.createdAt + HOLD_MS <= now()) Object.assign(a, { status: 'expired', held: 0 });
        };
        const available = () => loadCents + auths.reduce((sum, a) => sum - a.held - a.captured + a.refunded, 0);
        const spentSince = (since: number | null) =>
          auths.filter((a) => (a.status === 'pending' || a.status === 'captured') && (since === null || a.createdAt > since)).reduce((s, a) => s + a.held + a.captured, 0);
        const pick = (n: number) => (auths.length ? auths[n % auths.length] : undefined);

        for (const op of ops) {
          if (op.op === 'wait') {
            t.clock.advanceMs(op.ms);
            continue;
          }
          expire();
          if (op.op === 'authorize') {
            const withinLimits = limits.every((l) => {
              if (l.frequency === 'perAuthorization') return op.cents <= l.amountCents;
              const window = FREQUENCY_WINDOW_MS[l.frequency];
              return spentSince(window === null ? null : now() - window) + op.cents <= l.amountCents;
            });
            const approve = withinLimits && op.cents <= available();
            const d = card.details;
            const { authorization } = await spending.authorize({
              lookup: { kind: 'sandbox', card: { cardNumber: d.cardNumber, expiryMonth: d.expiryMonth, expiryYear: d.expiryYear, cvv: d.cvv } },
              amountCents: op.cents,
              currency: 'USD',
              merchant: ACME,
            });
            expect(authorization.status, `authorize ${op.cents} with ${available()} available`).toBe(approve ? 'pending' : 'declined');
            if (approve) auths.push({ id: authorization.id, createdAt: now(), held: op.cents, captured: 0, refunded: 0, status: 'pending' });
          } else {
            const a = pick(op.pick);
            if (!a) continue;
            if (op.op === 'capture') {
              const cents = op.cents ?? a.held;
              const code = await refusal(spending.capture(a.id, op.cents ?? undefined));
              const ok = a.status === 'pending' && cents <= a.held;
              expect(code).toBe(ok ? null : a.status === 'pending' ? 'amount_too_large' : 'authorization_state');
              if (ok) Object.assign(a, { status: 'captured', captured: cents, held: 0 });
            } else if (op.op === 'reverse') {
              const code = await refusal(spending.reverse(a.id));
              expect(code).toBe(a.status === 'pending' ? null : 'authorization_state');
              if (a.status === 'pending') Object.assign(a, { status: 'reversed', held: 0 });
            } else {
              const code = await refusal(spending.refund(a.id, op.cents));
              const ok = a.status === 'captured' && op.cents <= a.captured - a.refunded;
              expect(code).toBe(ok ? null : a.status === 'captured' ? 'amount_too_large' : 'authorization_state');
              if (ok) a.refunded += op.cents;
            }
          }
          expire();
          const f = await cardFunds(t.db, card.cardId, now());
          expect(f.availableCents).toBe(available());
          expect(f.availableCents).toBeGreaterThanOrEqual(0);
          expect(f.heldCents).toBe(auths.reduce((s, a) => s + a.held, 0));
        }
        // The sweep changes nothing of the sums; afterwards the entries alone say the same.
        await spending.expireDue();
        expire();
        expect(await cardFunds(t.db, card.cardId)).toEqual({ availableCents: available(), heldCents: auths.reduce((s, a) => s + a.held, 0) });
        // The running totals are the entries' sums.
        const totals = await t.db.selectFrom('card_spend_totals').selectAll().where('card_id', '=', card.cardId).executeTakeFirst();
        expect(await spendTotals(t.db, card.cardId)).toEqual({ availableDeltaCents: totals?.available_delta_cents ?? 0, heldCents: totals?.held_cents ?? 0 });
        await t.db.destroy();
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('150 concurrent authorizations over real HTTP on one card: exactly what the balance allows, never more', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 100 });
    const url = await listen(t.app);
    const results = await Promise.all(
      Array.from({ length: 150 }, () =>
        fetch(`${url}/sandbox/authorizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chargeBody(card, '0.01')) }).then(
          async (r) => ({ status: r.status, body: (await r.json()) as { authorization: { status: string; declineReason?: string } } }),
        ),
      ),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const approved = results.filter((r) => r.body.authorization.status === 'approved');
    expect(approved).toHaveLength(100);
    expect(results.filter((r) => r.body.authorization.declineReason === 'insufficient_funds')).toHaveLength(50);
    expect((await signed(t, agent, 'GET', `/cards/${card.cardId}/balance`)).body).toMatchObject({ balanceCents: 0, heldCents: 100 });
  });

  it('150 concurrent authorizations over real HTTP on one card with a daily limit: the limit is never passed', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 100_000 });
    await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits: [{ amountCents: 5000, frequency: 'per24HourPeriod' }] });
    const url = await listen(t.app);
    const results = await Promise.all(
      Array.from({ length: 150 }, () =>
        fetch(`${url}/sandbox/authorizations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chargeBody(card, 1)) }).then(
          async (r) => (await r.json()) as { authorization: { status: string; declineReason?: string } },
        ),
      ),
    );
    expect(results.filter((r) => r.authorization.status === 'approved')).toHaveLength(50);
    expect(results.filter((r) => r.authorization.declineReason === 'spending_limit')).toHaveLength(100);
    expect((await signed(t, agent, 'GET', `/cards/${card.cardId}/balance`)).body).toMatchObject({ balanceCents: 95_000, heldCents: 5000 });
  });
});
