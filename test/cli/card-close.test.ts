import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { Card402Client } from '../../src/client/card402-client.js';
import { ApiError } from '../../src/client/errors.js';
import { cli } from '../helpers/cli.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

const USDC = 10_000_000n;

function recorder(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream: Object.assign(stream, { isTTY }) as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

/** The CLI in-process at a terminal: stdin and stderr are TTYs, `answer` is typed after the question. */
async function atTerminal(args: string[], env: Record<string, string>, answer: string) {
  const stdin = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.ReadStream;
  const stdout = recorder(false);
  const stderr = recorder(true);
  const run = runCli(args, { stdin, stdout: stdout.stream, stderr: stderr.stream, env: { ...env } as NodeJS.ProcessEnv });
  (stdin as unknown as PassThrough).end(`${answer}\n`);
  const code = await run;
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('closing a card from the SDK and the CLI (real server, local ledger)', () => {
  let server: BootedServer;
  let env: Record<string, string>;
  let wallet: Keypair;
  let client: Card402Client;
  beforeAll(async () => {
    server = await bootServer();
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-close-'));
    env = { CARD402_HOME: home, CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    expect((await cli(['wallet', 'create', '--json'], env)).code).toBe(0);
    wallet = Keypair.fromSecret(JSON.parse(readFileSync(path.join(home, 'wallet.json'), 'utf8')).secretKey);
    expect((await cli(['wallet', 'fund', '--usdc', '200', '--json'], env)).code).toBe(0);
    client = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: wallet, limits: { spendCapAtomic: 1_000n * USDC } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const buy = async () => (await client.createCard({ amount: '25', nameOnCard: 'Closer', email: 'close@example.com' })).card.cardId;

  it('SDK closeCard: the balance comes back to the owner on-chain; getCard shows the closure; closing again is the same answer', async () => {
    const cardId = await buy();
    const before = await client.usdcBalance();
    const closed = await client.closeCard(cardId);
    expect(closed).toMatchObject({ success: true, cardId, status: 'closed', closure: { refund: { status: 'sent', amountCents: 2_500, to: wallet.publicKey() } } });
    expect(await client.usdcBalance()).toBe(before + 25n * USDC);
    expect((await client.getCard(cardId)).card.closure).toEqual(closed.closure);
    expect(await client.closeCard(cardId)).toEqual(closed);
    await expect(client.freeze(cardId)).rejects.toMatchObject({ status: 409, code: 'CARD_CLOSED' } satisfies Partial<ApiError>);
  });

  it('CLI without a terminal needs --yes: refused (exit 2) and the card stays open', async () => {
    const cardId = await buy();
    const refused = await cli(['card', 'close', cardId], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await client.getCard(cardId)).card.status).toBe('active');
  });

  it('CLI --yes --json closes it and prints the closure as JSON', async () => {
    const cardId = await buy();
    const before = await client.usdcBalance();
    const res = await cli(['card', 'close', cardId, '--yes', '--json'], env);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const body = JSON.parse(res.stdout);
    expect(body).toMatchObject({ success: true, cardId, status: 'closed', closure: { refund: { status: 'sent', amount: 25, txHash: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
    expect(await client.usdcBalance()).toBe(before + 25n * USDC);
    const human = await cli(['card', 'close', cardId, '-y'], env);
    expect(human.stdout.trim()).toBe(`card ${cardId} is closed; $25.00 USDC sent back to ${wallet.publicKey()} (tx ${body.closure.refund.txHash})`);
  });

  it('CLI at a terminal asks first: "n" leaves the card open, "y" closes it', async () => {
    const cardId = await buy();
    const declined = await atTerminal(['card', 'close', cardId], env, 'n');
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain(`Close card ${cardId} (Closer, •••• `);
    expect(declined.stderr).toContain('balance of $25.00');
    expect((await client.getCard(cardId)).card.status).toBe('active');

    const accepted = await atTerminal(['card', 'close', cardId], env, 'y');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toMatch(new RegExp(`^card ${cardId} is closed; \\$25\\.00 USDC sent back`));
    expect((await client.getCard(cardId)).card.status).toBe('closed');
  });
});
