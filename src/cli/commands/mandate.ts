import { Card402Client } from '../../client/card402-client.js';
import type { Keypair } from '@stellar/stellar-sdk';
import type { MandatePeriod, MandateView } from '../../protocol/mandates.js';
import type { StellarNetwork } from '../../protocol/networks.js';
import { CliError, EXIT } from '../errors.js';

/** What `card402 mandate …` needs from the CLI around it (main.ts). */
export interface MandateCommandContext {
  values: { owner?: string | undefined; amount?: string | undefined; per?: string | undefined; days?: string | undefined; note?: string | undefined; 'off-chain'?: boolean | undefined };
  /** The client for the configured API, with the wallet. */
  client: Card402Client;
  /** A client for another API (an approval link names its own card402), same wallet and RPC. */
  clientFor(apiUrl: string): Card402Client;
  out: { result(data: unknown, human: string): void };
}

const PERIODS: Record<string, MandatePeriod> = {
  week: 'weekly',
  weekly: 'weekly',
  month: 'monthly',
  monthly: 'monthly',
  year: 'yearly',
  yearly: 'yearly',
  total: 'total',
};

export const MANDATE_USAGE = `Mandates (an owner's on-chain USDC allowance the agent buys within)
  mandate request --owner G... --amount N --per week|month|year|total [--days D] [--note TEXT]
                                     as the agent: ask the owner; prints the approval link
  mandate show <id>                  phase, rules, spent per period, allowance left on-chain
  mandate approve <approval-url>     as the owner: sign the USDC approve (card402 pays the fee)
  mandate revoke <id> [--off-chain]  as the owner: end it, and clear the allowance on-chain
  card create … --mandate <id>       buy within a mandate (the owner pays); also card fund`;

function describe(m: MandateView): string {
  const rules = m.rules.map((r) => `  ${r.period.padEnd(8)} ${r.amount} USDC, spent ${r.spent}, left ${r.remaining}`).join('\n');
  return [
    `mandate ${m.id}: ${m.phase}${m.endReason ? ` (${m.endReason})` : ''}`,
    `  agent     ${m.agentAddress}`,
    `  owner     ${m.ownerAddress}`,
    `  spender   ${m.spender} (card402)`,
    `  allowance ${m.allowance} USDC${m.allowanceLeft !== null ? `, ${m.allowanceLeft} left on-chain` : ''}`,
    `  expires   ${m.expiresAt}`,
    ...(m.note ? [`  note      ${m.note}`] : []),
    'rules:',
    rules,
  ].join('\n');
}

/** `/mandates/<id>/approve` on some card402: its API base and the mandate id. */
export function parseApprovalUrl(text: string): { apiUrl: string; id: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError('mandate approve takes the approval link (https://…/mandates/<id>/approve)', EXIT.usage);
  }
  const match = /^(.*)\/mandates\/(md_[a-z2-7]{26})\/approve\/?$/.exec(url.pathname);
  if (!match || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new CliError('not a card402 approval link (…/mandates/<id>/approve)', EXIT.usage);
  return { apiUrl: `${url.origin}${match[1]}`, id: match[2]! };
}

export async function mandateCommand(args: string[], ctx: MandateCommandContext): Promise<void> {
  const [sub, target] = args;
  const { values, out } = ctx;
  switch (sub) {
    case 'request': {
      const owner = values.owner;
      const amount = values.amount;
      const per = values.per;
      if (!owner || !amount || !per) throw new CliError('usage: card402 mandate request --owner G... --amount N --per week|month|year|total', EXIT.usage);
      const period = PERIODS[per];
      if (!period) throw new CliError(`--per must be week, month, year or total, got ${per}`, EXIT.usage);
      let expiresAt: string | undefined;
      if (values.days) {
        const days = Number(values.days);
        if (!Number.isInteger(days) || days < 1 || days > 180) throw new CliError('--days must be a whole number of days, 1 to 180', EXIT.usage);
        expiresAt = new Date(Date.now() + days * 86_400_000).toISOString();
      }
      const m = await ctx.client.requestMandate({ ownerAddress: owner, rules: [{ amount, period }], ...(expiresAt ? { expiresAt } : {}), ...(values.note ? { note: values.note } : {}) });
      out.result(m, `${describe(m)}\nask the owner to approve: ${m.approvalUrl}\n  (the owner runs: card402 mandate approve ${m.approvalUrl})`);
      return;
    }
    case 'show': {
      const m = await ctx.client.getMandate(requireId(target));
      out.result(m, describe(m));
      return;
    }
    case 'approve': {
      if (!target) throw new CliError('usage: card402 mandate approve <approval-url>', EXIT.usage);
      const { apiUrl, id } = parseApprovalUrl(target);
      const m = await ctx.clientFor(apiUrl).approveMandate(id);
      out.result(m, `${describe(m)}\n${m.phase === 'active' ? 'approved on-chain: the agent can now buy within these rules' : 'approve sent; it becomes active once it lands (card402 mandate show ' + m.id + ')'}`);
      return;
    }
    case 'revoke': {
      const m = await ctx.client.revokeMandate(requireId(target), { onChain: !values['off-chain'] });
      out.result(m, `${describe(m)}\n${m.revokeTxHash ? `allowance cleared on-chain (tx ${m.revokeTxHash})` : 'revoked at card402 (the on-chain allowance was left as it is)'}`);
      return;
    }
    default:
      throw new CliError(`usage:\n${MANDATE_USAGE}`, EXIT.usage);
  }
}

function requireId(id: string | undefined): string {
  if (!id) throw new CliError('missing mandate id (md_…)', EXIT.usage);
  return id;
}

/** A client like `base` but for another API URL (the approval link's card402). */
export function clientForApi(opts: { apiUrl: string; rpcUrl: string; network: StellarNetwork; signer: Keypair }): Card402Client {
  return new Card402Client({ baseUrl: opts.apiUrl, rpcUrl: opts.rpcUrl, network: opts.network, signer: opts.signer });
}
