import { createInterface } from 'node:readline';
import type { Card402Client } from '../../client/card402-client.js';
import type * as Api from '../../protocol/api.js';
import { CliError, EXIT } from '../errors.js';
import { terminalText } from '../terminal.js';

export interface CardCloseInput {
  cardId: string;
  /** -y / --yes: no question asked. */
  yes: boolean;
  /** A person is at a terminal to answer (stdin and stderr are TTYs). */
  interactive: boolean;
  /** Asks a yes/no question on the terminal; true only for an explicit yes. */
  confirm(question: string): Promise<boolean>;
  client: Card402Client;
  /** Prints the result (JSON with --json, else the human text). */
  print(data: unknown, human: string): void;
}

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

function describeRefund(result: Api.CloseCardResult): string {
  const { refund } = result.closure;
  const amount = dollars(refund.amountCents);
  switch (refund.status) {
    case 'none':
      return 'nothing to send back (zero balance)';
    case 'sent':
      return `${amount} USDC sent back to ${refund.to} (tx ${refund.txHash})`;
    case 'pending':
      return `${amount} USDC to ${refund.to}: pending (card402 keeps sending it; see card402 card ${result.cardId})`;
  }
}

/**
 * `card402 card close <cardId>`: closes the card for good and has its balance sent back to the
 * owner. Irreversible, so at a terminal it asks first (unless -y/--yes); without a terminal it
 * needs --yes, rather than closing a card on a script's first run.
 */
export async function cardClose(input: CardCloseInput): Promise<void> {
  const { cardId, client } = input;
  if (!input.yes) {
    if (!input.interactive) throw new CliError('closing a card cannot be undone: pass --yes to close it without a terminal to confirm at', EXIT.usage);
    const { card } = await client.getCard(cardId);
    const question = `Close card ${card.cardId} (${card.nameOnCard}, •••• ${card.lastFour}) for good and send its balance of ${dollars(card.balanceCents)} back to ${card.ownerAddress}? [y/N] `;
    if (!(await input.confirm(question))) throw new CliError('not closed', EXIT.failure);
  }
  const result = await client.closeCard(cardId);
  input.print(result, `card ${result.cardId} is closed; ${describeRefund(result)}`);
}

/** One line from the terminal: true only for y or yes. The question goes to stderr, so --json stdout stays clean. */
export async function askYesNo(io: { stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream }, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    io.stderr.write(terminalText(question));
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*(y|yes)\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
