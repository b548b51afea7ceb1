import { centsToAtomic, parseDollarsToCents } from './units.js';

/** ASG-compatible price list, in integer cents and basis points. */
export const CARD_FEE_CENTS = 1000; // $10.00 flat per card
export const TOP_UP_FEE_BASIS_POINTS = 350; // 3.5% of the amount loaded
export const MIN_LOAD_CENTS = 500; // $5.00
export const MAX_LOAD_CENTS = 500_000; // $5,000.00

export interface Price {
  /** What lands on the card. */
  loadCents: number;
  cardFeeCents: number;
  topUpFeeCents: number;
  totalCents: number;
  /** totalCents in USDC atomic units: exactly what the payer must transfer. */
  totalAtomic: bigint;
}

export type PricingResult = { ok: true; price: Price } | { ok: false; reason: string };

/** Half-up to the cent: (a * bp + 5000) / 10000, in integers. */
export function percentageFeeCents(amountCents: number, basisPoints: number): number {
  const numerator = BigInt(amountCents) * BigInt(basisPoints) + 5000n;
  return Number(numerator / 10_000n);
}

function buildPrice(loadCents: number, cardFeeCents: number): Price {
  const topUpFeeCents = percentageFeeCents(loadCents, TOP_UP_FEE_BASIS_POINTS);
  const totalCents = cardFeeCents + loadCents + topUpFeeCents;
  return { loadCents, cardFeeCents, topUpFeeCents, totalCents, totalAtomic: centsToAtomic(totalCents) };
}

function parseLoad(amountText: string): { ok: true; cents: number } | { ok: false; reason: string } {
  const cents = parseDollarsToCents(amountText);
  if (cents === null) {
    return { ok: false, reason: 'amount must be a dollar amount with at most two decimals, e.g. 25 or 25.50' };
  }
  return { ok: true, cents };
}

const RANGE_TEXT = `between ${MIN_LOAD_CENTS / 100} and ${MAX_LOAD_CENTS / 100} dollars`;

/** Card creation: $10 + load + 3.5% of load; load is 0 (card only) or $5–$5,000. */
export function priceCardCreation(amountText: string): PricingResult {
  const load = parseLoad(amountText);
  if (!load.ok) return load;
  if (load.cents !== 0 && (load.cents < MIN_LOAD_CENTS || load.cents > MAX_LOAD_CENTS)) {
    return { ok: false, reason: `initial load must be 0 or ${RANGE_TEXT}` };
  }
  return { ok: true, price: buildPrice(load.cents, CARD_FEE_CENTS) };
}

/** Top-up: amount + 3.5%; amount $5–$5,000. */
export function priceCardFunding(amountText: string): PricingResult {
  const load = parseLoad(amountText);
  if (!load.ok) return load;
  if (load.cents < MIN_LOAD_CENTS || load.cents > MAX_LOAD_CENTS) {
    return { ok: false, reason: `amount must be ${RANGE_TEXT}` };
  }
  return { ok: true, price: buildPrice(load.cents, 0) };
}
