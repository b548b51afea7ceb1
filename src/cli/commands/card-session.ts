import type { Card402Client } from '../../client/card402-client.js';
import type * as Api from '../../protocol/api.js';
import { CliError, EXIT } from '../errors.js';
import { groupCardNumber, maskCardNumber, table } from '../format.js';

/**
 * `card402 card session create|redeem|get|redemptions` (issue #14). The redeem token never comes
 * from the command line, which other users of the machine can read (ps, /proc): it is read from
 * CARD402_REDEEM_TOKEN or standard input.
 */
export const SESSION_USAGE = `  card session create <cardId> [--ttl 300] [--max-redemptions 1]
                                     a card session and its redeem token (shown once)
  card session redeem <sessionId> [--reveal]
                                     the card data, with the token from CARD402_REDEEM_TOKEN or
                                     standard input (never the command line); no wallet needed
  card session get <sessionId>       status and redemption count
  card session redemptions <sessionId>
`;

export const REDEEM_TOKEN_ENV = 'CARD402_REDEEM_TOKEN';

export interface SessionCommandContext {
  args: string[];
  values: { ttl?: string | undefined; 'max-redemptions'?: string | undefined; reveal?: boolean | undefined };
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  out: { result(data: unknown, human: string): void };
  /** A client; with the wallet when `withWallet` (redeeming needs none). */
  client(withWallet: boolean): Card402Client;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} must be a whole number, got ${text}`, EXIT.usage);
  return Number(text);
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what} (see card402 --help)`, EXIT.usage);
  return value;
}

async function readToken(env: NodeJS.ProcessEnv, stdin: NodeJS.ReadStream): Promise<string> {
  const fromEnv = env[REDEEM_TOKEN_ENV]?.trim();
  if (fromEnv) return fromEnv;
  if (stdin.isTTY) throw new CliError(`no redeem token: set ${REDEEM_TOKEN_ENV} or pipe it on standard input`, EXIT.usage);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk));
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (!token) throw new CliError(`no redeem token: set ${REDEEM_TOKEN_ENV} or pipe it on standard input`, EXIT.usage);
  return token;
}

function sessionLine(s: Api.CardSession): string {
  return table([
    ['session', 'card', 'status', 'redeemed', 'expires'],
    [s.id, s.cardId, s.status, `${s.redeemCount}/${s.maxRedeemCount}`, s.expiresAt],
  ]);
}

export async function sessionCommand(ctx: SessionCommandContext): Promise<void> {
  const [sub, id] = ctx.args;
  switch (sub) {
    case 'create': {
      const cardId = required(id, 'card id');
      const ttlSeconds = positiveInt(ctx.values.ttl, '--ttl');
      const maxRedeemCount = positiveInt(ctx.values['max-redemptions'], '--max-redemptions');
      const created = await ctx.client(true).createCardSession(cardId, {
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        ...(maxRedeemCount !== undefined ? { maxRedeemCount } : {}),
      });
      ctx.out.result(
        created,
        `${sessionLine(created.session)}\nredeem token (shown once; pass it on standard input or ${REDEEM_TOKEN_ENV}, never as an argument):\n${created.redeemToken}\n` +
          `  redeem: card402 card session redeem ${created.session.id} < token-file`,
      );
      return;
    }
    case 'redeem': {
      const sessionId = required(id, 'session id');
      const token = await readToken(ctx.env, ctx.stdin);
      const result = await ctx.client(false).redeemCardSession(sessionId, token);
      const d = result.details;
      const reveal = ctx.values.reveal ?? false;
      ctx.out.result(
        reveal ? result : { ...result, details: { ...d, cardNumber: maskCardNumber(d.cardNumber), cvv: '***' } },
        `${sessionLine(result.session)}\nnumber ${reveal ? groupCardNumber(d.cardNumber) : maskCardNumber(d.cardNumber)}\nexpiry ${String(d.expiryMonth).padStart(2, '0')}/${d.expiryYear}\ncvv    ${reveal ? d.cvv : '*** (use --reveal)'}`,
      );
      return;
    }
    case 'get': {
      const result = await ctx.client(true).getCardSession(required(id, 'session id'));
      ctx.out.result(result, sessionLine(result.session));
      return;
    }
    case 'redemptions': {
      const result = await ctx.client(true).cardSessionRedemptions(required(id, 'session id'));
      ctx.out.result(
        result,
        result.redemptions.length ? table([['redeemed at', 'ip address'], ...result.redemptions.map((r) => [r.redeemedAt, r.ipAddress])]) : 'no redemptions',
      );
      return;
    }
    default:
      throw new CliError('usage: card402 card session create|redeem|get|redemptions', EXIT.usage);
  }
}
