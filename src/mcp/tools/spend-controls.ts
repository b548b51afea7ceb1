import { z } from 'zod';
import { FREQUENCY_ALIASES, LIMIT_FREQUENCIES, cardControlsPatchSchema, type ControlsResponse, type LimitFrequency } from '../../protocol/spending.js';
import { parseDollarsToCents } from '../../protocol/money/units.js';
import { ToolFailure } from '../errors.js';
import { cardId, dollarAmount } from '../inputs.js';
import { defineTool } from '../tool.js';

const CHANGE = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;
const ROLES = 'The holder (the wallet that bought the card) may only tighten (lock, add or lower a limit, block a category); only the owner wallet may loosen (OWNER_ONLY otherwise).';

function summary(result: ControlsResponse): string {
  const c = result.controls;
  const parts = [
    c.limits.length ? `limits ${c.limits.map((l) => `$${(l.amountCents / 100).toFixed(2)} ${l.frequency}`).join(', ')}` : 'no limits',
    c.blockedCategories.length ? `blocked MCCs ${c.blockedCategories.join(', ')}` : '',
    c.allowedCategories.length ? `only MCCs ${c.allowedCategories.join(', ')}` : '',
    c.allowedMerchants.length ? `only merchants ${c.allowedMerchants.join(', ')}` : '',
    c.expiresAt ? `expires ${c.expiresAt}` : '',
  ].filter(Boolean);
  return `Card ${result.cardId} is ${result.status}; ${parts.join('; ')}.`;
}

const shape = cardControlsPatchSchema.shape;

/** The card's spend controls (issue 13): machines.cash's limits, categories, merchants, expiry, lock. */
export const updateCardControls = defineTool({
  name: 'update_card_controls',
  title: "Change a card's spend controls",
  description: `Change a card's spend controls; fields left out stay as they are. status "locked" stops every authorization (like freeze_card), "active" lifts it. limits replaces all limits (amountCents in cents: 5000 = $50.00, per frequency). allowedCategories / blockedCategories are 4-digit merchant category codes (MCC, e.g. "7995" gambling); allowedMerchants are merchant names; expiresAt an ISO time after which every purchase is declined (null removes it). ${ROLES}`,
  input: {
    cardId,
    status: shape.status.describe('Optional: "locked" or "active"'),
    limits: shape.limits.describe('Optional: the complete list of limits, e.g. [{"amountCents": 5000, "frequency": "per24HourPeriod"}]'),
    allowedCategories: shape.allowedCategories.describe('Optional: only these MCCs are accepted'),
    blockedCategories: shape.blockedCategories.describe('Optional: these MCCs are declined'),
    allowedMerchants: shape.allowedMerchants.describe('Optional: only these merchant names are accepted'),
    expiresAt: shape.expiresAt.describe('Optional: ISO 8601 time after which purchases are declined; null removes it'),
  },
  annotations: CHANGE,
  async run({ cardId: id, ...patch }, ctx) {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    if (Object.keys(defined).length === 0) throw new ToolFailure('INVALID_INPUT', 'no control to change was given', 'give at least one of status, limits, allowedCategories, blockedCategories, allowedMerchants, expiresAt');
    const result = await ctx.wallet().updateControls(id, defined);
    return { text: summary(result), data: result };
  },
});

const PER: [string, ...string[]] = [...LIMIT_FREQUENCIES, ...Object.keys(FREQUENCY_ALIASES)];

/** One limit, in dollars and plain words, keeping the card's other limits. */
export const setCardLimit = defineTool({
  name: 'set_card_limit',
  title: 'Set a spending limit on a card',
  description: `Set how much a card may spend per authorization, day, week, month, year or in all (replacing any limit of that frequency, keeping the others). ${ROLES}`,
  input: {
    cardId,
    amount: dollarAmount('The limit'),
    per: z.enum(PER).describe('authorization | day | week | month | year | all (or a frequency name such as per24HourPeriod)'),
  },
  annotations: CHANGE,
  async run({ cardId: id, amount, per }, ctx) {
    const cents = parseDollarsToCents(typeof amount === 'number' ? String(amount) : amount.trim());
    if (cents === null) throw new ToolFailure('INVALID_AMOUNT', `invalid amount ${JSON.stringify(amount)}: at most two decimals`, 'use a dollar amount such as "50" or "12.50"');
    const frequency = (FREQUENCY_ALIASES[per] ?? per) as LimitFrequency;
    const result = await ctx.wallet().setLimit(id, { amountCents: cents, frequency });
    return { text: summary(result), data: result };
  },
});
