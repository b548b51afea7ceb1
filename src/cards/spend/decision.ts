import { FREQUENCY_WINDOW_MS, type DeclineReason, type LimitFrequency, type SpendLimit } from '../../protocol/spending.js';
import { normalizeMerchant, type Controls } from './controls.js';

/** The only currency cards hold. */
export const CARD_CURRENCY = 'USD';

/** Everything the decision looks at, read in the same transaction that will record the outcome. */
export interface CardSpendState {
  /** The card's status column: 'active', 'frozen' (= locked), and 'closed' once cards can close. */
  status: string;
  controls: Controls;
  /** The card's own expiry (end of its expiry month), when the caller knows it (the sandbox network does). */
  cardExpiry?: { month: number; year: number };
  availableCents: number;
  /** Captured plus held amounts of approved authorizations, per frequency of the card's limits. */
  spentCents: Partial<Record<LimitFrequency, number>>;
}

export interface AuthorizationAsk {
  amountCents: number;
  currency: string;
  mcc: string;
  merchantName: string;
}

export type Decision = { approved: true } | { approved: false; reason: DeclineReason; detail?: string };

const decline = (reason: DeclineReason, detail?: string): Decision => ({ approved: false, reason, ...(detail ? { detail } : {}) });

/** The first millisecond after a card's expiry month. */
export function cardExpiryEndMs(expiry: { month: number; year: number }): number {
  return Date.UTC(expiry.year, expiry.month, 1);
}

/** The frequencies whose window spends the decision needs (those of the card's limits, no perAuthorization). */
export function windowedFrequencies(limits: SpendLimit[]): LimitFrequency[] {
  return [...new Set(limits.map((l) => l.frequency))].filter((f) => f !== 'perAuthorization');
}

/** Where a frequency's window starts; null for all time. */
export function windowStartMs(frequency: LimitFrequency, nowMs: number): number | null {
  const window = FREQUENCY_WINDOW_MS[frequency];
  return window === null ? null : nowMs - window;
}

/**
 * THE authorization decision, for the sandbox network and a real issuer alike: pure, integer
 * cents. In order: closed, locked, expired (the card's own expiry or its controls' expiresAt),
 * currency, category, merchant, limits (each of them; the first one passed is named), funds.
 * Unknown card data (card_invalid) is decided before, by whoever looks the card up.
 */
export function decide(state: CardSpendState, ask: AuthorizationAsk, nowMs: number): Decision {
  const { controls } = state;
  // Compared as a string so it holds whether or not the status type knows 'closed' yet.
  if ((state.status as string) === 'closed') return decline('card_closed');
  if (state.status !== 'active') return decline('card_frozen');
  if (state.cardExpiry && nowMs >= cardExpiryEndMs(state.cardExpiry)) return decline('card_expired');
  if (controls.expiresAtMs !== null && nowMs >= controls.expiresAtMs) return decline('card_expired');
  if (ask.currency !== CARD_CURRENCY) return decline('currency_not_supported');
  if (controls.blockedCategories.includes(ask.mcc)) return decline('category_blocked');
  if (controls.allowedCategories.length > 0 && !controls.allowedCategories.includes(ask.mcc)) return decline('category_blocked');
  if (controls.allowedMerchants.length > 0 && !controls.allowedMerchants.some((m) => normalizeMerchant(m) === normalizeMerchant(ask.merchantName))) {
    return decline('merchant_not_allowed');
  }
  for (const limit of controls.limits) {
    const before = limit.frequency === 'perAuthorization' ? 0 : (state.spentCents[limit.frequency] ?? 0);
    if (before + ask.amountCents > limit.amountCents) return decline('spending_limit', `${limit.frequency}:${limit.amountCents}`);
  }
  if (ask.amountCents > state.availableCents) return decline('insufficient_funds');
  return { approved: true };
}
