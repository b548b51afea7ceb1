import type { CardControlsRow, LockedBy } from '../../db/schema.js';
import type { SpendLimit } from '../../protocol/spending.js';

/** A card's spend controls. Empty allow-lists allow everything; limits all apply (the most restrictive decides). */
export interface Controls {
  limits: SpendLimit[];
  allowedCategories: string[];
  blockedCategories: string[];
  /** Merchant names, compared case-insensitively and trimmed. */
  allowedMerchants: string[];
  expiresAtMs: number | null;
  lockedBy: LockedBy | null;
}

export const NO_CONTROLS: Controls = {
  limits: [],
  allowedCategories: [],
  blockedCategories: [],
  allowedMerchants: [],
  expiresAtMs: null,
  lockedBy: null,
};

export function controlsFromRow(row: CardControlsRow | undefined): Controls {
  if (!row) return NO_CONTROLS;
  return {
    limits: JSON.parse(row.limits_json) as SpendLimit[],
    allowedCategories: JSON.parse(row.allowed_categories_json) as string[],
    blockedCategories: JSON.parse(row.blocked_categories_json) as string[],
    allowedMerchants: JSON.parse(row.allowed_merchants_json) as string[],
    expiresAtMs: row.expires_at,
    lockedBy: row.locked_by,
  };
}

export const normalizeMerchant = (name: string) => name.trim().toLowerCase();

const isSubset = (small: string[], big: string[]) => {
  const set = new Set(big);
  return small.every((x) => set.has(x));
};

/** An allow-list (empty = everything) is no wider than before. */
function allowListNotWider(before: string[], after: string[]): boolean {
  if (before.length === 0) return true;
  return after.length > 0 && isSubset(after, before);
}

/** Every limit of before is still there, at the same frequency, no higher (new limits only tighten). */
function limitsNotLooser(before: SpendLimit[], after: SpendLimit[]): boolean {
  return before.every((old) => after.some((l) => l.frequency === old.frequency && l.amountCents <= old.amountCents));
}

/**
 * DESIGN §8: which of the requested changes loosen the card, and so need its owner. The holder may
 * only tighten (add or lower a limit, block a category, narrow an allow-list, bring expiry
 * closer, lock); the owner may also loosen. Returns the names of the fields that loosen; empty when
 * the change only tightens or keeps things as they are.
 */
export function looseningFields(before: Controls, after: Controls, unlocking: boolean): string[] {
  const fields: string[] = [];
  if (unlocking && before.lockedBy === 'owner') fields.push('status');
  if (!limitsNotLooser(before.limits, after.limits)) fields.push('limits');
  if (!allowListNotWider(before.allowedCategories, after.allowedCategories)) fields.push('allowedCategories');
  if (!isSubset(before.blockedCategories, after.blockedCategories)) fields.push('blockedCategories');
  if (!allowListNotWider(before.allowedMerchants.map(normalizeMerchant), after.allowedMerchants.map(normalizeMerchant))) fields.push('allowedMerchants');
  const expiryNotLater = after.expiresAtMs !== null && (before.expiresAtMs === null || after.expiresAtMs <= before.expiresAtMs);
  if (!(before.expiresAtMs === after.expiresAtMs || expiryNotLater)) fields.push('expiresAt');
  return fields;
}
