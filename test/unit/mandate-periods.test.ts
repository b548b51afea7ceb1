import { describe, expect, it } from 'vitest';
import { allowanceCents, periodBounds, periodsTouched } from '../../src/mandates/periods.js';
import { brokenRule, ruleStandings, type MandateRule } from '../../src/mandates/rules.js';
import type { MandatePurchase } from '../../src/mandates/repository.js';

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

describe('mandate periods are calendar periods in UTC', () => {
  it.each([
    ['weekly', '2026-04-01T15:00:00Z', '2026-03-30T00:00:00Z', '2026-04-06T00:00:00Z'], // Wednesday → Monday..Monday
    ['weekly', '2026-03-30T00:00:00Z', '2026-03-30T00:00:00Z', '2026-04-06T00:00:00Z'], // Monday midnight starts a week
    ['weekly', '2026-04-05T23:59:59Z', '2026-03-30T00:00:00Z', '2026-04-06T00:00:00Z'], // Sunday ends it
    ['monthly', '2026-02-28T23:59:59Z', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ['monthly', '2026-12-31T12:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['yearly', '2026-07-04T00:00:00Z', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'],
  ] as const)('%s at %s runs [%s, %s)', (period, now, start, end) => {
    expect(periodBounds(period, at(now))).toEqual({ startMs: at(start), endMs: at(end) });
  });

  it('counts the periods a mandate life touches, and the allowance the rules allow over it', () => {
    const from = at('2026-03-30T12:00:00Z');
    expect(periodsTouched('weekly', from, from + 7 * DAY)).toBe(2); // Mon noon → next Mon noon
    expect(periodsTouched('monthly', from, from + 7 * DAY)).toBe(2); // March and April
    expect(periodsTouched('yearly', from, from + 7 * DAY)).toBe(1);
    expect(periodsTouched('total', from, from + 100 * DAY)).toBe(1);
    expect(allowanceCents([{ period: 'weekly', amountCents: 2500 }, { period: 'monthly', amountCents: 4000 }], from, from + 30 * DAY)).toBe(8000); // min(5 × 25, 2 × 40)
    expect(allowanceCents([{ period: 'total', amountCents: 5000 }, { period: 'weekly', amountCents: 10_000 }], from, from + 30 * DAY)).toBe(5000);
  });

  it('what counts against a rule: purchases in the current period, except failed and refunded ones', () => {
    const rules: MandateRule[] = [{ period: 'monthly', amountCents: 5000 }];
    const p = (status: MandatePurchase['status'], createdAt: string, cents: number): MandatePurchase => ({ id: createdAt + status, status, totalCents: cents, amountAtomic: BigInt(cents) * 100_000n, createdAt: at(createdAt) });
    const purchases = [
      p('fulfilled', '2026-03-31T23:00:00Z', 3000), // last month
      p('fulfilled', '2026-04-02T10:00:00Z', 2000),
      p('settling', '2026-04-03T10:00:00Z', 1000), // in flight counts
      p('failed', '2026-04-03T11:00:00Z', 1000),
      p('refunded', '2026-04-03T12:00:00Z', 1000),
      p('paid_unfulfilled', '2026-04-03T13:00:00Z', 500),
    ];
    const now = at('2026-04-10T00:00:00Z');
    expect(ruleStandings(rules, purchases, now)[0]).toMatchObject({ spentCents: 3500, remainingCents: 1500 });
    expect(brokenRule(rules, purchases, now, 1500)).toBeUndefined();
    expect(brokenRule(rules, purchases, now, 1501)?.rule.period).toBe('monthly');
    // On 1 May the month starts over.
    expect(brokenRule(rules, purchases, at('2026-05-01T00:00:00Z'), 5000)).toBeUndefined();
  });
});
