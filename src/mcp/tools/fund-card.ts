import type { McpContext } from '../context.js';
import { cardId, dollarAmount } from '../inputs.js';
import { preparePurchase, priceView, sessionSpent, spendingView, usd } from '../money.js';
import { defineTool } from '../tool.js';

/** ASG's fund_card: tops a card up, paying the exact price from the wallet. */
export const fundCard = defineTool({
  name: 'fund_card',
  title: 'Top up a card (pays USDC)',
  description: (ctx: McpContext) =>
    `Add money to one of your cards, paying from the wallet in USDC on Stellar (x402), with no human step. ` +
    `Price: amount + 3.5% (amount "10" costs $10.35; $5–$5,000); get_pricing quotes it exactly. ` +
    `Refused before anything is signed if the price is over the per-payment cap ($${usd(ctx.settings.maxPaymentAtomic)}) ` +
    `or over what is left of this session's spend cap ($${usd(ctx.settings.spendCapAtomic)} per session). ` +
    `Returns the amount funded, the new balance, the price paid and the transaction hash. ` +
    `Only fund cards from list_cards (cards this wallet bought).`,
  input: {
    cardId,
    amount: dollarAmount('Amount to load onto the card: 5 to 5000'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const { amount, price, client } = preparePurchase(ctx, 'fund', input.amount);
    const result = await client.fundCard(input.cardId, amount);
    const data = {
      cardId: result.cardId,
      fundedAmount: result.fundedAmount.toFixed(2),
      newBalance: result.newBalance.toFixed(2),
      price: priceView(price),
      payment: { ...result.payment, amountCharged: result.payment.amountCharged.toFixed(2) },
      spending: spendingView(ctx, sessionSpent(client)),
    };
    return {
      text: `Card ${result.cardId} funded with $${data.fundedAmount}; balance $${data.newBalance}; paid $${data.payment.amountCharged} USDC (tx ${result.payment.txHash}).`,
      data,
    };
  },
});
