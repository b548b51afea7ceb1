import { createCardRequestSchema } from '../../protocol/api.js';
import type { McpContext } from '../context.js';
import { dollarAmount } from '../inputs.js';
import { preparePurchase, priceView, sessionSpent, spendingView, usd } from '../money.js';
import { defineTool } from '../tool.js';
import { CARD_DATA_OUTSIDE_CONTEXT } from './card-details.js';

const fields = createCardRequestSchema.shape;

/** ASG's create_card: buys a card, paying the exact price from the wallet; never returns card data. */
export const createCard = defineTool({
  name: 'create_card',
  title: 'Buy a virtual card (pays USDC)',
  description: (ctx: McpContext) =>
    `Buy a new virtual debit card, paying from the wallet in USDC on Stellar (x402), with no human step. ` +
    `Price: $10.00 + amount + 3.5% of amount (amount "25" costs $35.88; "0" costs $10.00); get_pricing quotes it exactly. ` +
    `Refused before anything is signed if the price is over the per-payment cap ($${usd(ctx.settings.maxPaymentAtomic)}) ` +
    `or over what is left of this session's spend cap ($${usd(ctx.settings.spendCapAtomic)} per session). ` +
    `Returns the card id, balance, last four digits and expiry, the price paid and the transaction hash; never the card number or CVV. ` +
    `After a TIMEOUT or PAYMENT_INCOMPLETE error, check list_cards and get_payment_status before buying again.`,
  input: {
    amount: dollarAmount('Initial load on the card: 0 (card only) or 5 to 5000'),
    nameOnCard: fields.nameOnCard.describe('Name to print on the card (1–64 printable characters)'),
    email: fields.email.describe('Email address of the cardholder'),
    ownerAddress: fields.ownerAddress.describe(
      "Optional: the owner wallet's Stellar address (G...), who may loosen controls and restore details; default this wallet",
    ),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const { amount, price, client } = preparePurchase(ctx, 'create', input.amount);
    const result = await client.createCard({
      amount,
      nameOnCard: input.nameOnCard,
      email: input.email,
      ...(input.ownerAddress ? { ownerAddress: input.ownerAddress } : {}),
    });
    const envelope = result.detailsEnvelope;
    const card = {
      ...result.card,
      ...(envelope ? { lastFour: envelope.cardNumber.slice(-4), expiry: `${String(envelope.expiryMonth).padStart(2, '0')}/${envelope.expiryYear}` } : {}),
    };
    const data = {
      card,
      price: priceView(price),
      payment: { ...result.payment, amountCharged: result.payment.amountCharged.toFixed(2) },
      spending: spendingView(ctx, sessionSpent(client)),
      cardData: CARD_DATA_OUTSIDE_CONTEXT(result.card.cardId),
    };
    return {
      text: `Card ${card.cardId} issued for ${card.nameOnCard}${'lastFour' in card ? ` (…${card.lastFour}, exp ${card.expiry})` : ''}, balance $${card.balance.toFixed(2)}; paid $${data.payment.amountCharged} USDC (tx ${result.payment.txHash}).`,
      data,
    };
  },
});
