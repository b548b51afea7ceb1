import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { percentageFeeCents, priceCardCreation, priceCardFunding, type PricingResult } from '../../src/protocol/money/pricing.js';
import {
  ATOMIC_PER_CENT,
  atomicToCents,
  centsToAtomic,
  formatAtomic,
  formatCents,
  MoneyError,
  parseDollarsToCents,
} from '../../src/protocol/money/units.js';

function total(result: PricingResult): string {
  if (!result.ok) throw new Error(`unexpected rejection: ${result.reason}`);
  return formatCents(result.price.totalCents);
}

describe('documented prices', () => {
  it.each([
    ['create', '100', '113.50'],
    ['create', '0', '10.00'],
    ['create', '5', '15.18'], // 3.5% of 5.00 = 0.175 → half-up 0.18
    ['create', '5000', '5185.00'],
    ['create', '25', '35.88'], // 0.875 → 0.88
    ['fund', '200', '207.00'],
    ['fund', '5', '5.18'],
    ['fund', '10.10', '10.45'], // 0.3535 → 0.35
    ['fund', '10.30', '10.66'], // 0.3605 → 0.36
  ])('%s %s costs %s', (kind, amount, expected) => {
    expect(total(kind === 'create' ? priceCardCreation(amount) : priceCardFunding(amount))).toBe(expected);
  });

  it('charges exactly the total in USDC atomic units', () => {
    const result = priceCardCreation('100');
    expect(result.ok && result.price.totalAtomic).toBe(1_135_000_000n);
  });
});

describe('amount validation', () => {
  it.each(['', '-5', '+5', '5.123', '1e3', '0x10', ' 5', '5 ', '5.', '.5', 'NaN', 'Infinity', '10,00', '99999999999'])(
    'rejects %j',
    (amount) => {
      expect(priceCardCreation(amount).ok).toBe(false);
      expect(priceCardFunding(amount).ok).toBe(false);
    },
  );
  it.each(['4.99', '5000.01', '1', '0.01'])('rejects out-of-range create load %s', (amount) => {
    expect(priceCardCreation(amount).ok).toBe(false);
  });
  it.each(['0', '4.99', '5000.01'])('rejects out-of-range top-up %s', (amount) => {
    expect(priceCardFunding(amount).ok).toBe(false);
  });
  it.each(['5', '5.00', '5000', '5000.00', '123.4', '0.00'])('accepts create %s', (amount) => {
    expect(priceCardCreation(amount).ok).toBe(true);
  });
});

describe('properties', () => {
  const loadCents = fc.integer({ min: 500, max: 500_000 });
  const asText = (cents: number) => formatCents(cents);

  it('every price is an integer sum of its parts, never a float', () => {
    fc.assert(
      fc.property(loadCents, (cents) => {
        const result = priceCardCreation(asText(cents));
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const p = result.price;
        for (const part of [p.loadCents, p.cardFeeCents, p.topUpFeeCents, p.totalCents]) expect(Number.isSafeInteger(part)).toBe(true);
        expect(p.totalCents).toBe(p.cardFeeCents + p.loadCents + p.topUpFeeCents);
        expect(p.loadCents).toBe(cents);
        expect(p.totalAtomic).toBe(BigInt(p.totalCents) * ATOMIC_PER_CENT);
      }),
    );
  });

  it('fee is 3.5% rounded half-up: |fee*1000 - load*35| <= 500, ties upward', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (cents) => {
        const fee = percentageFeeCents(cents, 350);
        const diff = fee * 1000 - cents * 35; // both exact integers, in tenths of a hundredth of a cent
        expect(diff).toBeGreaterThan(-500);
        expect(diff).toBeLessThanOrEqual(500);
      }),
    );
  });

  it('top-up and creation differ by exactly the card fee', () => {
    fc.assert(
      fc.property(loadCents, (cents) => {
        const create = priceCardCreation(asText(cents));
        const fund = priceCardFunding(asText(cents));
        expect(create.ok && fund.ok && create.price.totalCents - fund.price.totalCents).toBe(1000);
      }),
    );
  });

  it('price grows with the load', () => {
    fc.assert(
      fc.property(loadCents, loadCents, (a, b) => {
        fc.pre(a < b);
        const pa = priceCardFunding(asText(a));
        const pb = priceCardFunding(asText(b));
        expect(pa.ok && pb.ok && pa.price.totalCents < pb.price.totalCents).toBe(true);
      }),
    );
  });

  it('cents ↔ text ↔ atomic round trips are exact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (cents) => {
        expect(parseDollarsToCents(formatCents(cents))).toBe(cents);
        expect(atomicToCents(centsToAtomic(cents))).toBe(cents);
      }),
    );
  });
});

describe('units', () => {
  it('refuses to round atomic amounts that are not whole cents', () => {
    expect(() => atomicToCents(1n)).toThrow(MoneyError);
    expect(() => atomicToCents(100_001n)).toThrow(MoneyError);
  });
  it('refuses non-integer cents', () => {
    expect(() => centsToAtomic(1.5)).toThrow(MoneyError);
    expect(() => centsToAtomic(Number.NaN)).toThrow(MoneyError);
  });
  it('formats', () => {
    expect(formatCents(0)).toBe('0.00');
    expect(formatCents(5)).toBe('0.05');
    expect(formatCents(-1050)).toBe('-10.50');
    expect(formatCents(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
    expect(formatAtomic(1_135_000_000n)).toBe('113.5');
    expect(formatAtomic(1n)).toBe('0.0000001');
    expect(formatAtomic(-10_000_000n)).toBe('-1');
  });
});
