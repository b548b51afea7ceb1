import { z } from 'zod';
import { amountText, priceView, quote } from '../money.js';
import { READ_ONLY, defineTool } from '../tool.js';
import { ToolFailure } from '../errors.js';

/** ASG's get_pricing, plus an exact quote for an amount (what create_card or fund_card would pay). */
export const getPricing = defineTool({
  name: 'get_pricing',
  title: 'Pricing and exact quotes',
  description:
    'Card402 pricing: a card costs $10.00 + its initial load + 3.5% of the load (load 0, or $5–$5,000); a top-up costs the amount + 3.5% ($5–$5,000). Give `amount` to get the exact total that create_card and fund_card would pay for it.',
  input: {
    amount: z
      .union([z.string().max(16), z.number().nonnegative()])
      .optional()
      .describe('Optional: a load or top-up amount in US dollars (e.g. "25") to quote exactly'),
  },
  annotations: READ_ONLY,
  async run({ amount }, ctx) {
    const pricing = await ctx.public.pricing();
    const data: Record<string, unknown> = {
      cardFee: pricing.cardFee,
      topUpPercent: pricing.topUpPercent,
      minAmount: pricing.minAmount,
      maxAmount: pricing.maxAmount,
      currency: pricing.currency,
      asset: pricing.asset,
      description: pricing.description,
    };
    if (amount === undefined) return { text: pricing.description, data };
    const text = amountText(amount);
    const attempt = (kind: 'create' | 'fund') => {
      try {
        return priceView(quote(kind, text));
      } catch (err) {
        if (err instanceof ToolFailure) return { unavailable: err.message };
        throw err;
      }
    };
    const createCard = attempt('create');
    const fundCard = attempt('fund');
    data.quote = { amount: text, createCard, fundCard };
    const line = (what: string, q: ReturnType<typeof attempt>) => ('total' in q ? `${what} $${q.total}` : `${what}: ${q.unavailable}`);
    return { text: `For $${text}: ${line('a new card with this load costs', createCard)}; ${line('a top-up of this amount costs', fundCard)}.`, data };
  },
});
