import { createInterface } from 'node:readline';
import type { Card402Client } from '../../client/card402-client.js';
import { formatCents } from '../../protocol/money/units.js';
import { parseApprovalUrl, type ApprovalView, type PaymentRequestView } from '../../protocol/payment-requests.js';
import { CliError, EXIT } from '../errors.js';
import { usdc } from '../format.js';

/**
 * Payment requests in the CLI (issue 16). The agent's side: `request card|fund|show`. The owner's
 * side: `approve <approvalUrl> [-y]` and `reject <approvalUrl>`, dispatched by the link's path
 * through APPROVAL_LINKS, so another kind of approval link (e.g. mandates) is one more entry.
 */

/** What a command needs from the CLI (built by main.ts). */
export interface CommandContext {
  json: boolean;
  /** Prints `data` as JSON in --json mode, otherwise the human text (both sanitised for the terminal). */
  result(data: unknown, human: string): void;
  /** The progress line on stderr (human mode only). */
  progress(text: string): void;
  /** A client of the configured API, or of `baseUrl`; with the wallet when `wallet`. */
  client(opts: { wallet: boolean; baseUrl?: string }): Card402Client;
  /** Asks a yes/no question on the terminal; false when there is no answer. */
  confirm(question: string): Promise<boolean>;
}

export interface RequestOptions {
  amount?: string | undefined;
  name?: string | undefined;
  email?: string | undefined;
  owner?: string | undefined;
  note?: string | undefined;
  'no-wait'?: boolean | undefined;
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what} (see card402 --help)`, EXIT.usage);
  return value;
}

function describeRequested(requested: PaymentRequestView['requested'], loadCents: number): string {
  return 'nameOnCard' in requested
    ? `a new card for ${requested.nameOnCard} (${requested.email}) loaded with $${formatCents(loadCents)}`
    : `a top-up of $${formatCents(loadCents)} on card ${requested.cardId}`;
}

function outcomeLine(view: PaymentRequestView): string {
  switch (view.status) {
    case 'completed':
      return view.card
        ? `completed: card ${view.card.cardId} (…${view.card.lastFour}, balance $${formatCents(view.card.balanceCents)}) paid by ${view.approverAddress}\n  details: card402 card details ${view.card.cardId}`
        : `completed (card ${view.cardId})`;
    case 'failed':
      return `failed: the card could not be provided; the owner's payment is refunded${view.refundTxHash ? ` (tx ${view.refundTxHash})` : ''}`;
    default:
      return `${view.status}`;
  }
}

/** `card402 request card|fund|show …` (the agent). */
export async function requestCommand(args: string[], options: RequestOptions, ctx: CommandContext): Promise<number | void> {
  const [sub, second] = args;
  const client = ctx.client({ wallet: true });
  switch (sub) {
    case 'card':
    case 'fund': {
      const created =
        sub === 'card'
          ? await client.requestCard({
              amount: required(options.amount, '--amount'),
              nameOnCard: required(options.name, '--name'),
              email: required(options.email, '--email'),
              ...(options.owner ? { ownerAddress: options.owner } : {}),
              ...(options.note ? { note: options.note } : {}),
            })
          : await client.requestFunding(required(second, 'card id'), required(options.amount, '--amount'), {
              ...(options.owner ? { ownerAddress: options.owner } : {}),
              ...(options.note ? { note: options.note } : {}),
            });
      const asked = `payment request ${created.id}: ${created.price.amount} USDC, expires ${created.expiresAt}\nsend this link to the owner:\n  ${created.approvalUrl}`;
      if (options['no-wait']) return ctx.result(created, asked);
      if (!ctx.json) ctx.result(undefined, asked);
      let last = '';
      const view = await client.waitForRequest(created.id, {
        onUpdate: (update) => {
          if (update.status === last) return;
          last = update.status;
          ctx.progress(update.status === 'pending' ? 'waiting for the owner to approve and pay' : `request ${update.status}`);
        },
      });
      ctx.result({ ...view, approvalUrl: created.approvalUrl }, outcomeLine(view));
      return view.status === 'completed' ? EXIT.ok : EXIT.failure;
    }
    case 'show': {
      const view = await client.getPaymentRequest(required(second, 'payment request id'));
      return ctx.result(view, `payment request ${view.id}: ${describeRequested(view.requested, view.price.loadCents)}, ${view.price.amount} USDC\n  ${outcomeLine(view)}`);
    }
    default:
      throw new CliError('usage: card402 request card --amount N --name NAME --email EMAIL | request fund <cardId> --amount N | request show <id>', EXIT.usage);
  }
}

/** An approval link kind: how the CLI recognises, shows, approves and rejects it. */
export interface ApprovalLinkKind {
  name: string;
  matches(url: string): boolean;
  approve(url: string, opts: { yes: boolean }, ctx: CommandContext): Promise<number | void>;
  reject(url: string, ctx: CommandContext): Promise<number | void>;
}

function approvalSummary(view: ApprovalView): string {
  return [
    `payment request ${view.id} (${view.status})`,
    `  agent:   ${view.agentAddress} asks for ${describeRequested(view.requested, view.price.loadCents)}`,
    ...(view.note ? [`  note:    ${view.note}`] : []),
    `  price:   ${view.price.amount} USDC (exactly ${view.price.amountAtomic} atomic units)`,
    `  pay to:  ${view.payTo} on ${view.network}`,
    `  expires: ${view.expiresAt}`,
  ].join('\n');
}

const paymentRequestLinks: ApprovalLinkKind = {
  name: 'payment request',
  matches: (url) => parseApprovalUrl(url) !== undefined,
  async approve(url, opts, ctx) {
    const client = ctx.client({ wallet: true, baseUrl: parseApprovalUrl(url)!.origin });
    const view = await client.getApproval(url);
    if (view.status !== 'pending') throw new CliError(`payment request ${view.id} is ${view.status}; nothing to approve`);
    if (!ctx.json) ctx.result(undefined, approvalSummary(view));
    if (!opts.yes && !(await ctx.confirm(`Pay ${view.price.amount} USDC from ${client.address}? [y/N] `))) {
      throw new CliError('not approved; nothing was paid');
    }
    const result = await client.approveRequest(url, { expectedAmountAtomic: BigInt(view.price.amountAtomic) });
    return ctx.result(
      { ...result, request: view },
      `approved: paid ${usdc(BigInt(view.price.amountAtomic))}${result.payment?.txHash ? ` (tx ${result.payment.txHash})` : ''}; request ${result.status}${result.cardId ? `, card ${result.cardId}` : ''}`,
    );
  },
  async reject(url, ctx) {
    const client = ctx.client({ wallet: false, baseUrl: parseApprovalUrl(url)!.origin });
    const result = await client.rejectRequest(url);
    return ctx.result(result, `payment request ${result.id} rejected; it can no longer be paid`);
  },
};

/** Every kind of approval link the CLI answers, tried in order. */
export const APPROVAL_LINKS: ApprovalLinkKind[] = [paymentRequestLinks];

function linkKind(url: string | undefined): { url: string; kind: ApprovalLinkKind } {
  const link = required(url, 'approval link');
  const kind = APPROVAL_LINKS.find((k) => k.matches(link));
  if (!kind) throw new CliError(`not an approval link card402 knows: ${link}`, EXIT.usage);
  return { url: link, kind };
}

/** `card402 approve <approvalUrl> [-y]` (the owner). */
export function approveCommand(url: string | undefined, opts: { yes: boolean }, ctx: CommandContext): Promise<number | void> {
  const link = linkKind(url);
  return link.kind.approve(link.url, opts, ctx);
}

/** `card402 reject <approvalUrl>` (the owner). */
export function rejectCommand(url: string | undefined, ctx: CommandContext): Promise<number | void> {
  const link = linkKind(url);
  return link.kind.reject(link.url, ctx);
}

/** One line from standard input: whether it starts with y. */
export async function confirmOnTerminal(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, question: string): Promise<boolean> {
  stderr.write(question);
  const lines = createInterface({ input: stdin, terminal: false });
  try {
    for await (const line of lines) return /^\s*y(es)?\s*$/i.test(line);
    return false;
  } finally {
    lines.close();
  }
}
