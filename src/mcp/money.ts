import { priceCardCreation, priceCardFunding, type Price } from '../protocol/money/pricing.js';
import { ATOMIC_PER_CENT, atomicToCents, formatAtomic, formatCents } from '../protocol/money/units.js';
import type { Card402Client } from '../client/card402-client.js';
import type { McpContext } from './context.js';
import { ToolFailure } from './errors.js';

/** Atomic USDC as a dollar string: "35.88" (whole cents), else every significant decimal. */
export function usd(atomic: bigint): string {
  return atomic % ATOMIC_PER_CENT === 0n ? formatCents(atomicToCents(atomic)) : formatAtomic(atomic);
}

/** A price as tools report it: dollar strings (exact) and the atomic total the payment transfers. */
export function priceView(price: Price) {
  return {
    load: formatCents(price.loadCents),
    cardFee: formatCents(price.cardFeeCents),
    topUpFee: formatCents(price.topUpFeeCents),
    total: formatCents(price.totalCents),
    totalAtomic: price.totalAtomic.toString(),
    currency: 'USD (paid in USDC on Stellar)',
  };
}

/** An amount as the model may send it: "25", "25.50" or 25. */
export function amountText(amount: string | number): string {
  return typeof amount === 'number' ? String(amount) : amount.trim();
}

/**
 * The exact price of a purchase, computed with the same pricing the SDK checks the 402 against
 * (src/protocol/money/pricing.ts), so the tool can state it and check the caps before any request.
 */
export function quote(kind: 'create' | 'fund', amount: string): Price {
  const result = kind === 'create' ? priceCardCreation(amount) : priceCardFunding(amount);
  if (!result.ok) {
    throw new ToolFailure('INVALID_AMOUNT', `invalid amount ${JSON.stringify(amount)}: ${result.reason}`, 'use a dollar amount such as "25" or "25.50"; see get_pricing');
  }
  return result.price;
}

/** The caps and what this session has paid so far. */
export function spendingView(ctx: McpContext, spentAtomic: bigint) {
  const remaining = ctx.settings.spendCapAtomic - spentAtomic;
  return {
    maxPayment: usd(ctx.settings.maxPaymentAtomic),
    sessionCap: usd(ctx.settings.spendCapAtomic),
    spentThisSession: usd(spentAtomic),
    remainingThisSession: usd(remaining > 0n ? remaining : 0n),
  };
}

/**
 * Refuses a payment over a cap before anything is requested or signed. The SDK checks the same
 * caps again against the 402 it receives (Card402Client limits): this check only says it earlier,
 * with the price, in words the model can relay.
 */
export function checkCaps(ctx: McpContext, price: Price, spentAtomic: bigint): void {
  const { maxPaymentAtomic, spendCapAtomic } = ctx.settings;
  const total = usd(price.totalAtomic);
  if (price.totalAtomic > maxPaymentAtomic) {
    throw new ToolFailure(
      'OVER_PAYMENT_LIMIT',
      `this costs $${total}, over the per-payment cap of $${usd(maxPaymentAtomic)} (CARD402_MAX_PAYMENT); nothing was signed`,
      'use a smaller amount, or ask the user to raise CARD402_MAX_PAYMENT in the MCP configuration',
    );
  }
  const remaining = spendCapAtomic - spentAtomic;
  if (price.totalAtomic > remaining) {
    throw new ToolFailure(
      'OVER_SPEND_CAP',
      `this costs $${total}, more than the $${usd(remaining > 0n ? remaining : 0n)} left of this session's spend cap of $${usd(spendCapAtomic)} (CARD402_SPEND_CAP); nothing was signed`,
      'use a smaller amount, or ask the user to raise CARD402_SPEND_CAP in the MCP configuration (the MCP server counts it per session)',
    );
  }
}

/**
 * Purchases paid from a mandate (the owner's allowance, no x402 payment from this wallet) count
 * against the same session caps: the SDK counts only its own x402 payments, so this adds them.
 */
const mandateSpent = new WeakMap<Card402Client, bigint>();

export function recordMandateSpend(client: Card402Client, atomic: bigint): void {
  mandateSpent.set(client, (mandateSpent.get(client) ?? 0n) + atomic);
}

/** What this MCP session has spent: x402 payments (the SDK's counter) plus mandate purchases. */
export function sessionSpent(client: Card402Client): bigint {
  return client.spent + (mandateSpent.get(client) ?? 0n);
}

/**
 * The start of every paid tool: the amount as text, its exact price, and the session's wallet,
 * refused over a cap before anything is requested or signed.
 */
export function preparePurchase(ctx: McpContext, kind: 'create' | 'fund', input: string | number): { amount: string; price: Price; client: Card402Client } {
  const amount = amountText(input);
  const price = quote(kind, amount);
  const client = ctx.wallet();
  checkCaps(ctx, price, sessionSpent(client));
  return { amount, price, client };
}
