import type { MandatePeriod } from '../protocol/mandates.js';

/**
 * A mandate's periods are calendar periods in UTC, not rolling windows: a week starts Monday
 * 00:00 UTC, a month on the 1st, a year on 1 January; `total` is the mandate's whole life. The
 * owner reads "100 a month" as "100 this month", and what was spent in a period is a plain sum
 * over its purchases. (Rolling windows would let an agent spend at most the limit in any 30 days;
 * calendar periods allow up to twice the limit across a boundary — say 100 on the 31st and 100 on
 * the 1st. The on-chain allowance is computed to match: see allowanceCents.)
 */
export interface PeriodBounds {
  startMs: number;
  endMs: number; // exclusive
}

const DAY_MS = 86_400_000;

export function periodBounds(period: Exclude<MandatePeriod, 'total'>, atMs: number): PeriodBounds {
  const d = new Date(atMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (period) {
    case 'weekly': {
      const midnight = Date.UTC(y, m, d.getUTCDate());
      const sinceMonday = (d.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
      const startMs = midnight - sinceMonday * DAY_MS;
      return { startMs, endMs: startMs + 7 * DAY_MS };
    }
    case 'monthly':
      return { startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
    case 'yearly':
      return { startMs: Date.UTC(y, 0, 1), endMs: Date.UTC(y + 1, 0, 1) };
  }
}

/** How many periods of a kind a mandate living over [fromMs, toMs) touches (1 for `total`). */
export function periodsTouched(period: MandatePeriod, fromMs: number, toMs: number): number {
  if (period === 'total') return 1;
  let count = 0;
  for (let at = fromMs; at < toMs; at = periodBounds(period, at).endMs) count++;
  return Math.max(1, count);
}

/**
 * The most the rules together let the agent spend over the mandate's life: for each rule its
 * amount times the periods the life touches; the smallest of those. That is what the owner approves
 * on-chain, so the allowance never permits more than the rules do, and the rules never wait on an
 * allowance too small for them.
 */
export function allowanceCents(rules: readonly { period: MandatePeriod; amountCents: number }[], fromMs: number, toMs: number): number {
  return Math.min(...rules.map((r) => r.amountCents * periodsTouched(r.period, fromMs, toMs)));
}
