import type { MandatePeriod } from '../protocol/mandates.js';
import { periodBounds } from './periods.js';
import type { MandatePurchase } from './repository.js';

export interface MandateRule {
  period: MandatePeriod;
  amountCents: number;
}

/**
 * What a purchase counts for. Against the rules: everything but purchases that moved no money
 * (`failed`) or gave it back (`refunded`); in flight counts, so concurrent purchases cannot both
 * fit in the same room. Against the on-chain allowance: everything but `failed` — a refund is a
 * transfer back to the owner, it does not restore the allowance `transfer_from` used up.
 */
const countsForRules = (p: MandatePurchase) => p.status !== 'failed' && p.status !== 'refunded';
const consumesAllowance = (p: MandatePurchase) => p.status !== 'failed';

export interface RuleStanding {
  rule: MandateRule;
  spentCents: number;
  remainingCents: number;
  startMs: number | null;
  endMs: number | null;
}

export function ruleStandings(rules: readonly MandateRule[], purchases: readonly MandatePurchase[], nowMs: number): RuleStanding[] {
  return rules.map((rule) => {
    const bounds = rule.period === 'total' ? null : periodBounds(rule.period, nowMs);
    const spentCents = purchases
      .filter(countsForRules)
      .filter((p) => !bounds || (p.createdAt >= bounds.startMs && p.createdAt < bounds.endMs))
      .reduce((sum, p) => sum + p.totalCents, 0);
    return { rule, spentCents, remainingCents: Math.max(0, rule.amountCents - spentCents), startMs: bounds?.startMs ?? null, endMs: bounds?.endMs ?? null };
  });
}

/** The first rule a purchase of `priceCents` now would break, or undefined when every rule allows it. */
export function brokenRule(rules: readonly MandateRule[], purchases: readonly MandatePurchase[], nowMs: number, priceCents: number): RuleStanding | undefined {
  return ruleStandings(rules, purchases, nowMs).find((s) => s.remainingCents < priceCents);
}

/** How much of the approved allowance card402's own purchases have used or hold (atomic). */
export function allowanceConsumedAtomic(purchases: readonly MandatePurchase[]): bigint {
  return purchases.filter(consumesAllowance).reduce((sum, p) => sum + p.amountAtomic, 0n);
}
