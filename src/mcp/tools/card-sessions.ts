import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CardSession } from '../../protocol/api.js';
import type { McpSettings } from '../context.js';
import { ToolFailure } from '../errors.js';
import { cardId } from '../inputs.js';
import { READ_ONLY, defineTool } from '../tool.js';

/** The API's session ids (src/cards/sessions/card-sessions.ts); checked here so an id is safe as a file name. */
const SESSION_ID = /^cs_[0-9a-f]{32}$/;

const sessionId = z
  .string()
  .regex(SESSION_ID, 'sessionId must be a card session id (cs_ and 32 hex digits) as create_card_session returned it')
  .describe('The card session id (cs_…), as create_card_session returned it');

/** Where a session's redeem token is kept: a file only the user can read, under the CLI's home. */
export function sessionTokenFile(settings: Pick<McpSettings, 'home'>, id: string): string {
  return path.join(settings.home, 'sessions', `${id}.token`);
}

/** The command that redeems a session outside the conversation (the token on standard input, never an argument). */
export const redeemCommand = (id: string, file: string) => `card402 card session redeem ${id} --reveal < '${file.replaceAll("'", "'\\''")}'`;

function sessionLine(s: CardSession): string {
  return `Card session ${s.id} for card ${s.cardId}: ${s.status}, redeemed ${s.redeemCount} of ${s.maxRedeemCount}, expires ${s.expiresAt}`;
}

/**
 * A card session (issue 14) whose redeem token never enters the model's context: it goes to a new
 * file of mode 0600, and the model gets the path and the command that redeems it.
 */
export const createCardSession = defineTool({
  name: 'create_card_session',
  title: 'Card session (card data read outside the conversation)',
  description:
    'Make a short-lived card session: the way to use the full card data (number, CVV, billing address) without it entering this conversation. ' +
    'The redeem token is NOT returned here: it is written to a file only the user can read, and the result gives the file path and the exact command ' +
    'that redeems it in a terminal or a script (`card402 card session redeem <sessionId> --reveal < <file>`), or code calls the card402 SDK (redeemCardSession) with the token read from that file. ' +
    'Never read the token file into this conversation. Check the session with get_card_session.',
  input: {
    cardId,
    ttlSeconds: z.number().int().min(30).max(3600).optional().describe('Optional: seconds the session can be redeemed, 30–3600 (default 300)'),
    maxRedemptions: z.number().int().min(1).max(10).optional().describe('Optional: how many times it can be redeemed, 1–10 (default 1)'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(input, ctx) {
    const created = await ctx.wallet().createCardSession(input.cardId, {
      ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}),
      ...(input.maxRedemptions !== undefined ? { maxRedeemCount: input.maxRedemptions } : {}),
    });
    const { session } = created;
    if (!SESSION_ID.test(session.id)) throw new ToolFailure('UNEXPECTED', 'the API answered a session id of an unknown form', 'run `card402 doctor` in a terminal; the MCP server and the API may be different versions');
    const file = sessionTokenFile(ctx.settings, session.id);
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // `wx`: a new file only (never through an existing file or link); 0600 from the first byte.
      writeFileSync(file, `${created.redeemToken}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new ToolFailure('TOKEN_FILE_FAILED', `the session ${session.id} was made but its token could not be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`, `check that ${path.dirname(file)} is writable, then call create_card_session again`);
    }
    const command = redeemCommand(session.id, file);
    return {
      text: `${sessionLine(session)}. The redeem token is in ${file} (readable only by the user); redeem outside this conversation with: ${command}`,
      data: { session, tokenFile: file, redeemCommand: command, note: 'The token file is a secret: do not read it into this conversation; delete it once redeemed.' },
    };
  },
});

export const getCardSession = defineTool({
  name: 'get_card_session',
  title: 'Card session status',
  description:
    'Check a card session from create_card_session: its status (active; redeemed: used up; expired; scrubbed), how many times it was redeemed and when it expires, and its redemptions (time and IP address). Never returns card data or the token.',
  input: { sessionId },
  annotations: READ_ONLY,
  async run({ sessionId: id }, ctx) {
    const client = ctx.wallet();
    const [{ session }, { redemptions }] = await Promise.all([client.getCardSession(id), client.cardSessionRedemptions(id)]);
    return { text: `${sessionLine(session)}.`, data: { session, redemptions } };
  },
});
