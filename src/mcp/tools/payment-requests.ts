import { z } from 'zod';
import { createCardRequestSchema } from '../../protocol/api.js';
import { PAYMENT_REQUEST_ID } from '../../protocol/payment-requests.js';
import { dollarAmount } from '../inputs.js';
import { amountText } from '../money.js';
import { READ_ONLY, defineTool } from '../tool.js';

const fields = createCardRequestSchema.shape;

/** Asks the wallet's owner to pay for a card (issue 16): nothing is paid from this wallet. */
export const requestCard = defineTool({
  name: 'request_card',
  title: 'Ask the owner to pay for a card',
  description:
    'Ask a person (the owner) to approve and pay for a new virtual card that this wallet will hold; nothing is paid from this wallet. ' +
    'Returns a payment request id and an approval link: give the link to the owner (it is a one-time secret; do not post it publicly). ' +
    'The owner reviews the exact price and pays it in USDC with their own wallet, or rejects it. ' +
    'Then call get_payment_request with the id until its status is completed (the card is ready: use get_card), rejected, expired or failed.',
  input: {
    amount: dollarAmount('Initial load on the card: 0 (card only) or 5 to 5000'),
    nameOnCard: fields.nameOnCard.describe('Name to print on the card (1–64 printable characters)'),
    email: fields.email.describe('Email address of the cardholder'),
    ownerAddress: fields.ownerAddress.describe("Optional: the only wallet (G...) that may approve and pay; default: whoever opens the link and pays"),
    note: z.string().max(280).optional().describe('Optional: a short note shown to the owner (why the card is needed)'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const created = await ctx.wallet().requestCard({
      amount: amountText(input.amount),
      nameOnCard: input.nameOnCard,
      email: input.email,
      ...(input.ownerAddress ? { ownerAddress: input.ownerAddress } : {}),
      ...(input.note ? { note: input.note } : {}),
    });
    return {
      text: `Payment request ${created.id} for ${created.price.amount} USDC: send this link to the owner to approve and pay: ${created.approvalUrl} (expires ${created.expiresAt}). Then poll get_payment_request.`,
      data: created,
    };
  },
});

/** A payment request this wallet made: pending, approved, completed (with the card), rejected, expired, failed. */
export const getPaymentRequest = defineTool({
  name: 'get_payment_request',
  title: 'Payment request status',
  description:
    'Check a payment request made with request_card: its status (pending: the owner has not answered; approved: paid, the card is being issued; ' +
    'completed: the card is ready, its summary is included — read its data with get_card_details; rejected; expired; failed: refunded to the owner).',
  input: {
    id: z.string().regex(PAYMENT_REQUEST_ID, 'id must be a payment request id (pr_…)').describe('The payment request id (pr_…) from request_card'),
  },
  annotations: READ_ONLY,
  async run({ id }, ctx) {
    const view = await ctx.wallet().getPaymentRequest(id);
    const card = view.card ? `; card ${view.card.cardId} (…${view.card.lastFour}), balance $${view.card.balance.toFixed(2)}` : '';
    return { text: `Payment request ${view.id} (${view.price.amount} USDC): ${view.status}${card}.`, data: view };
  },
});
