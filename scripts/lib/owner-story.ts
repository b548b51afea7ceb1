import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Keypair } from '@stellar/stellar-sdk';
import { Card402Client } from '../../src/client/card402-client.js';
import { formatAtomic } from '../../src/protocol/money/units.js';

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin/card402.js');

/**
 * The owner story of `npm run demo` (issue 16): an agent with no money asks its owner to pay for a
 * card; the owner reviews the link and pays it from the `card402` CLI with the owner's own wallet;
 * the agent's wait ends with the card, which it holds and the owner owns. Every step checks what it
 * got; the first surprise throws.
 */
export interface OwnerStoryOptions {
  apiUrl: string;
  rpcUrl: string;
  friendbotUrl: string;
  loadUsd: string;
  say: (line: string) => void;
  /** The links' origin is PUBLIC_BASE_URL; a demo server on a free port is reached at `apiUrl` instead. */
  localLink?: (link: string) => string;
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`unexpected: ${what}`);
}

export async function runOwnerStory(opts: OwnerStoryOptions): Promise<void> {
  const { say } = opts;
  const step = (n: number, title: string) => say(`\n${n}. ${title}`);
  const ownerHome = mkdtempSync(path.join(tmpdir(), 'card402-owner-'));
  const env = { PATH: process.env.PATH ?? '', CARD402_HOME: ownerHome, CARD402_API_URL: opts.apiUrl, CARD402_RPC_URL: opts.rpcUrl, CARD402_FRIENDBOT_URL: opts.friendbotUrl };
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [CLI, ...args], { env, timeout: 120_000 });
    for (const line of stdout.trimEnd().split('\n')) say(`   $ ${line}`);
    return stdout;
  };

  try {
    step(11, 'Owner in the loop: an agent with no USDC asks its owner to pay for a card');
    const agent = Keypair.random();
    const client = new Card402Client({ baseUrl: opts.apiUrl, rpcUrl: opts.rpcUrl, signer: agent });
    const asked = await client.requestCard({ amount: opts.loadUsd, nameOnCard: 'Owned Agent', email: 'owned@example.com', note: 'for the demo' });
    say(`   agent ${agent.publicKey()} asked: ${asked.price.amount} USDC, status ${asked.status}`);
    const link = opts.localLink ? opts.localLink(asked.approvalUrl) : asked.approvalUrl;
    say(`   approval link for the owner: ${link.replace(/token=.*/, 'token=…')}`);

    step(12, 'The owner: a wallet with test USDC (card402 CLI)');
    await cli('wallet', 'create');
    await cli('wallet', 'fund', '--usdc', '100');

    step(13, 'The owner approves from the CLI: reviews the request and pays exactly the quoted price');
    const waiting = client.waitForRequest(asked.id, { intervalMs: 500 });
    const approved = await cli('approve', link, '-y');
    expect(approved.includes('request completed'), 'the approval did not complete the request');

    step(14, 'The agent’s wait ends: the card is ready, held by the agent, owned by the owner');
    const done = await waiting;
    expect(done.status === 'completed' && done.card, `the request ended ${done.status}`);
    say(`   request ${done.id}: ${done.status}; card ${done.card.cardId} …${done.card.lastFour}, balance $${done.card.balance}`);
    say(`   holder ${agent.publicKey()}, owner ${done.card.ownerAddress}`);
    const details = await client.getDetails(done.card.cardId);
    expect(details.details.cardNumber.endsWith(done.card.lastFour), 'the agent cannot read its card');
    say(`   the agent reads its card: •••• •••• •••• ${details.details.cardNumber.slice(-4)}`);
    say(`   the agent paid nothing: ${formatAtomic(await client.usdcBalance().catch(() => 0n))} USDC`);
    say('\nThe owner story behaved.');
  } finally {
    rmSync(ownerHome, { recursive: true, force: true });
  }
}
