/**
 * Integer money. Cents are safe integers (numbers); USDC atomic units are bigints (7 decimals,
 * 1 USDC = 10,000,000). One USD cent is 100,000 atomic units. No floating point anywhere.
 */
export const USDC_DECIMALS = 7;
export const ATOMIC_PER_USDC = 10_000_000n;
export const ATOMIC_PER_CENT = 100_000n;

export class MoneyError extends Error {
  override name = 'MoneyError';
}

export function assertCents(cents: number): number {
  if (!Number.isSafeInteger(cents)) throw new MoneyError(`not an integer number of cents: ${cents}`);
  return cents;
}

export function centsToAtomic(cents: number): bigint {
  return BigInt(assertCents(cents)) * ATOMIC_PER_CENT;
}

/** Exact only: an atomic amount that is not a whole number of cents is an error, never rounded. */
export function atomicToCents(atomic: bigint): number {
  if (atomic % ATOMIC_PER_CENT !== 0n) throw new MoneyError(`${atomic} atomic units is not a whole number of cents`);
  const cents = atomic / ATOMIC_PER_CENT;
  if (cents > BigInt(Number.MAX_SAFE_INTEGER) || cents < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError(`${atomic} atomic units is out of range`);
  }
  return Number(cents);
}

/** 12345 → "123.45"; -5 → "-0.05". */
export function formatCents(cents: number): string {
  assertCents(cents);
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const remainder = abs % 100;
  return `${sign}${(abs - remainder) / 100}.${String(remainder).padStart(2, '0')}`;
}

/** 113500000n → "11.35" style decimal USDC string with all 7 decimals trimmed of trailing zeros. */
export function formatAtomic(atomic: bigint): string {
  const sign = atomic < 0n ? '-' : '';
  const abs = atomic < 0n ? -atomic : atomic;
  const whole = abs / ATOMIC_PER_USDC;
  const fraction = (abs % ATOMIC_PER_USDC).toString().padStart(USDC_DECIMALS, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction ? '.' + fraction : ''}`;
}

/** JSON number for display of a cents amount (ASG bodies carry dollars as numbers, e.g. 113.5). */
export function centsToDollarNumber(cents: number): number {
  return Number(formatCents(cents));
}

/**
 * Parses a dollar string with at most two decimals ("100", "100.5", "0.05") into cents.
 * Returns null for anything else: signs, exponents, spaces, more decimals, absurd lengths.
 */
export function parseDollarsToCents(text: string): number | null {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(2, '0'));
  return whole * 100 + fraction;
}
