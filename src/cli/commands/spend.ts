import type { Card402Client } from '../../client/card402-client.js';
import { parseDollarsToCents } from '../../protocol/money/units.js';
import { FREQUENCY_ALIASES, LIMIT_FREQUENCIES, type LimitFrequency, type SpendLimit } from '../../protocol/spending.js';
import { CliError, EXIT } from '../errors.js';
import { dollars } from '../format.js';

/** What these commands print through (main.ts's Output: --json or text, sanitised). */
export interface SpendOutput {
  result(data: unknown, human: string): void;
}

export interface SpendOptions {
  amount?: string | undefined;
  per?: string | undefined;
  merchant?: string | undefined;
  mcc?: string | undefined;
  country?: string | undefined;
}

function frequency(per: string | undefined): LimitFrequency {
  if (!per) throw new CliError(`missing --per (${Object.keys(FREQUENCY_ALIASES).join(', ')})`, EXIT.usage);
  const found = FREQUENCY_ALIASES[per] ?? (LIMIT_FREQUENCIES as readonly string[]).find((f) => f === per);
  if (!found) throw new CliError(`--per must be one of ${Object.keys(FREQUENCY_ALIASES).join(', ')} (or ${LIMIT_FREQUENCIES.join(', ')})`, EXIT.usage);
  return found as LimitFrequency;
}

function cents(amount: string | undefined): number {
  if (!amount) throw new CliError('missing --amount', EXIT.usage);
  const value = parseDollarsToCents(amount);
  if (value === null) throw new CliError(`--amount must be dollars with at most two decimals, got ${amount}`, EXIT.usage);
  return value;
}

const describeLimit = (l: SpendLimit) => `${dollars(l.amountCents / 100)} ${l.frequency}`;

/** `card402 card limit <cardId> --amount 50 --per day`: sets the card's limit for that period. */
export async function cardLimitCommand(client: Card402Client, cardId: string | undefined, opts: SpendOptions, out: SpendOutput): Promise<void> {
  if (!cardId) throw new CliError('usage: card402 card limit <cardId> --amount N --per day|week|month|year|authorization|all', EXIT.usage);
  const limit: SpendLimit = { amountCents: cents(opts.amount), frequency: frequency(opts.per) };
  const result = await client.setLimit(cardId, limit);
  out.result(result, `card ${result.cardId} limits: ${result.controls.limits.map(describeLimit).join(', ')}`);
}

/**
 * `card402 sandbox charge <cardId> --amount 12.50 --merchant "Acme" --mcc 5734`: charges one of your
 * cards on the sandbox card network. The card data is read with your own signed details request
 * and handed straight to the network; it is never printed.
 */
export async function sandboxCommand(client: Card402Client, args: string[], opts: SpendOptions, out: SpendOutput): Promise<void> {
  const [sub, cardId] = args;
  if (sub !== 'charge' || !cardId) {
    throw new CliError('usage: card402 sandbox charge <cardId> --amount N --merchant NAME --mcc NNNN [--country US]', EXIT.usage);
  }
  cents(opts.amount);
  if (!opts.merchant) throw new CliError('missing --merchant', EXIT.usage);
  if (!opts.mcc || !/^\d{4}$/.test(opts.mcc)) throw new CliError('--mcc must be a 4-digit merchant category code', EXIT.usage);
  const { authorization } = await client.sandboxCharge(cardId, {
    amount: opts.amount!,
    merchant: { name: opts.merchant, mcc: opts.mcc, country: opts.country ?? 'US' },
  });
  const outcome =
    authorization.status === 'approved'
      ? `approved: ${dollars(authorization.amount)} held at ${authorization.merchant.name} (authorization ${authorization.id})`
      : `declined: ${authorization.declineReason}${authorization.declineDetail ? ` (${authorization.declineDetail})` : ''}`;
  out.result({ authorization }, outcome);
}
