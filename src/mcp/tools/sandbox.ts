import { z } from 'zod';
import { merchantSchema } from '../../protocol/spending.js';
import { cardId, dollarAmount } from '../inputs.js';
import { defineTool } from '../tool.js';

/**
 * A test purchase on card402's sandbox card network (issue 13): the SDK reads the card data and
 * presents it as a merchant would, inside one call; only the authorization comes back.
 */
export const sandboxCharge = defineTool({
  name: 'sandbox_charge',
  title: 'Test purchase (sandbox network)',
  description:
    "Make a TEST purchase with one of your cards on card402's sandbox card network (only when the server runs the sandbox issuer): the card is authorized as a merchant would charge it, against its balance and spend controls. Returns approved (amount held) or declined with the reason (insufficient_funds, spending_limit, category_blocked, card_frozen, …). The card data is used inside the call and never returned. Uses one details read (5 per card per hour).",
  input: {
    cardId,
    amount: dollarAmount('The purchase amount'),
    merchant: merchantSchema.describe('The merchant: {"name": "Acme", "mcc": "5734", "country": "US"}'),
    currency: z.string().length(3).optional().describe('Optional: currency code (only USD is accepted; default USD)'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ cardId: id, amount, merchant, currency }, ctx) {
    const { authorization } = await ctx.wallet().sandboxCharge(id, { amount, merchant, ...(currency ? { currency } : {}) });
    const text =
      authorization.status === 'approved'
        ? `Approved: $${authorization.amount.toFixed(2)} held at ${authorization.merchant.name} (authorization ${authorization.id}).`
        : `Declined: ${authorization.declineReason ?? 'declined'}${authorization.declineDetail ? ` (${authorization.declineDetail})` : ''} at ${authorization.merchant.name}.`;
    return { text, data: { authorization } };
  },
});
