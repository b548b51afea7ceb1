import { z } from 'zod';
import { MANDATE_PERIODS, isMandateId, type MandateView } from '../../protocol/mandates.js';
import { cardId, dollarAmount } from '../inputs.js';
import type { McpContext } from '../context.js';
import { amountText, preparePurchase, priceView, recordMandateSpend, sessionSpent, spendingView, usd } from '../money.js';
import { READ_ONLY, defineTool } from '../tool.js';

/** Mandates (issue 17): an owner's on-chain budget the agent buys within, without asking each time. */

const mandateId = z
  .string()
  .refine(isMandateId, 'mandateId must be a mandate id (md_…) as request_mandate returned it')
  .describe('The mandate id (md_…), as request_mandate returned it');

function summary(m: MandateView): string {
  const rules = m.rules.map((r) => `${r.period} $${r.amount} (spent $${r.spent}, left $${r.remaining})`).join('; ');
  return `Mandate ${m.id}: ${m.phase}${m.endReason ? ` (${m.endReason})` : ''}; rules ${rules}; allowance $${m.allowance}${m.allowanceLeft !== null ? `, $${m.allowanceLeft} left on-chain` : ''}; expires ${m.expiresAt}.`;
}

export const requestMandate = defineTool({
  name: 'request_mandate',
  title: 'Ask an owner for a spending mandate',
  description:
    "Ask the owner's wallet for a budget this agent can buy cards within without asking each time: rules of an amount per period " +
    '(weekly, monthly, yearly — calendar periods in UTC — or total), lasting 7 days unless expiresAt says otherwise. ' +
    'Nothing is charged now. Returns the mandate and its approvalUrl: give that link to the user; the owner approves it once, on-chain ' +
    "(a USDC allowance they can revoke at any time). Then buy with create_card_with_mandate / fund_card_with_mandate; the owner's wallet pays.",
  input: {
    ownerAddress: z.string().describe("The owner's Stellar address (G...), whose USDC pays"),
    amount: dollarAmount('The most that may be spent per period'),
    period: z.enum(MANDATE_PERIODS).describe('weekly, monthly, yearly (calendar periods, UTC) or total (over the whole mandate)'),
    expiresAt: z.string().optional().describe('Optional ISO 8601 end (at most 180 days ahead); default 7 days'),
    note: z.string().max(280).optional().describe('Optional note shown to the owner on the approval page'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const m = await ctx.wallet().requestMandate({
      ownerAddress: input.ownerAddress,
      rules: [{ amount: amountText(input.amount), period: input.period }],
      ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
      ...(input.note ? { note: input.note } : {}),
    });
    return { text: `${summary(m)} Ask the owner to approve it: ${m.approvalUrl}`, data: m };
  },
});

export const getMandate = defineTool({
  name: 'get_mandate',
  title: 'Mandate status',
  description: 'A mandate this wallet asked for (or owns): its phase (requires-verification, active, revoked, expired), what was spent per period, and the allowance left on-chain.',
  input: { mandateId },
  annotations: READ_ONLY,
  async run(input, ctx) {
    const m = await ctx.wallet().getMandate(input.mandateId);
    return { text: summary(m), data: m };
  },
});

export const createCardWithMandate = defineTool({
  name: 'create_card_with_mandate',
  title: "Buy a virtual card within the owner's mandate",
  description: (ctx: McpContext) =>
    "Buy a new virtual card paid by the owner's wallet from an active mandate (no x402 payment from this wallet). Price: $10.00 + amount + 3.5% of amount. " +
    `The same caps as create_card apply, before anything is requested: at most $${usd(ctx.settings.maxPaymentAtomic)} per purchase and what is left of $${usd(ctx.settings.spendCapAtomic)} per session (mandate purchases count toward it); the mandate's rules and the owner's allowance apply too. ` +
    "Refused (403) when the mandate is not active, " +
    "a rule does not allow it, or the owner revoked or used up the allowance — nothing is charged then. Never returns the card number or CVV.",
  input: {
    mandateId,
    amount: dollarAmount('Initial load on the card: 0 (card only) or 5 to 5000'),
    nameOnCard: z.string().describe('Name to print on the card (1–64 printable characters)'),
    email: z.string().describe('Email address of the cardholder'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const { amount, price, client } = preparePurchase(ctx, 'create', input.amount);
    const result = await client.createCardWithMandate(input.mandateId, { amount, nameOnCard: input.nameOnCard, email: input.email });
    recordMandateSpend(client, price.totalAtomic);
    const data = { card: result.card, price: priceView(price), payment: { ...result.payment, amountCharged: result.payment.amountCharged.toFixed(2) }, spending: spendingView(ctx, sessionSpent(client)) };
    return {
      text: `Card ${result.card.cardId} issued for ${result.card.nameOnCard}, balance $${result.card.balance.toFixed(2)}; the owner paid $${data.payment.amountCharged} USDC from mandate ${input.mandateId} (tx ${result.payment.txHash}).`,
      data,
    };
  },
});

export const fundCardWithMandate = defineTool({
  name: 'fund_card_with_mandate',
  title: "Top up a card within the owner's mandate",
  description: (ctx: McpContext) =>
    "Add funds to one of this wallet's cards, paid by the owner's wallet from an active mandate. Price: amount + 3.5%. " +
    `The same caps as fund_card apply, before anything is requested: at most $${usd(ctx.settings.maxPaymentAtomic)} per purchase and what is left of $${usd(ctx.settings.spendCapAtomic)} per session (mandate purchases count toward it). ` +
    'Refused (403) as create_card_with_mandate is.',
  input: { mandateId, cardId, amount: dollarAmount('Amount to add: 5 to 5000') },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const { amount, price, client } = preparePurchase(ctx, 'fund', input.amount);
    const result = await client.fundCardWithMandate(input.mandateId, input.cardId, amount);
    recordMandateSpend(client, price.totalAtomic);
    return {
      text: `Card ${result.cardId} funded $${result.fundedAmount.toFixed(2)}, balance $${result.newBalance.toFixed(2)}; the owner paid $${result.payment.amountCharged.toFixed(2)} from mandate ${input.mandateId}.`,
      data: { ...result, price: priceView(price), spending: spendingView(ctx, sessionSpent(client)) },
    };
  },
});
