import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

const BIN = path.resolve('bin/card402.js');

/** A CLI run whose output is read while it runs (for the agent's waiting `request card`). */
function startCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return {
    async line(pattern: RegExp): Promise<string> {
      for (;;) {
        const found = stdout.split('\n').find((l) => pattern.test(l));
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before printing ${pattern}: ${stdout} ${stderr}`);
        await new Promise((resolve) => child.stdout.once('data', resolve));
      }
    },
    async done() {
      const code = await exited;
      return { code, stdout, stderr };
    },
  };
}

describe('owner-approved purchases from the CLI', () => {
  let server: BootedServer;
  let agentEnv: Record<string, string>;
  let ownerEnv: Record<string, string>;
  /** The server listens on a free port and PUBLIC_BASE_URL is unset here: links name the real origin. */
  const local = (link: string) => link.replace(/^https?:\/\/[^/]+/, server.apiUrl);

  beforeAll(async () => {
    server = await bootServer();
    const base = { CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl, CARD402_FRIENDBOT_URL: server.friendbotUrl };
    agentEnv = { ...base, CARD402_HOME: mkdtempSync(path.join(os.tmpdir(), 'card402-agent-')) };
    ownerEnv = { ...base, CARD402_HOME: mkdtempSync(path.join(os.tmpdir(), 'card402-owner-')) };
    for (const env of [agentEnv, ownerEnv]) expect((await cli(['wallet', 'create'], env)).code).toBe(0);
    expect((await cli(['wallet', 'fund', '--usdc', '100'], ownerEnv)).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('the agent asks and waits; the owner approves from the link; the agent gets the card', async () => {
    const agent = startCli(['request', 'card', '--amount', '25', '--name', 'Cli Agent', '--email', 'cli@example.com', '--note', 'build server'], agentEnv);
    const link = local((await agent.line(/\/approve\/pr_/)).trim());

    const approved = await cli(['approve', link], ownerEnv, 'y\n');
    expect(approved.code, approved.stderr + approved.stdout).toBe(0);
    expect(approved.stdout).toContain('asks for a new card for Cli Agent (cli@example.com) loaded with $25.00');
    expect(approved.stdout).toContain('price:   35.88 USDC (exactly 358800000 atomic units)');
    expect(approved.stdout).toContain('note:    build server');
    expect(approved.stderr).toContain('Pay 35.88 USDC from G');
    expect(approved.stdout).toMatch(/approved: paid 35\.88 USDC \(tx [0-9a-f]{64}\); request completed, card [0-9a-f-]{36}/);

    const waited = await agent.done();
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toContain('waiting for the owner to approve and pay');
    expect(waited.stdout).toMatch(/completed: card [0-9a-f-]{36} \(…\d{4}, balance \$25\.00\) paid by G[A-Z2-7]{55}/);

    const id = /\/approve\/(pr_[0-9a-f]{32})/.exec(link)![1]!;
    const shown = await cli(['request', 'show', id, '--json'], agentEnv);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id, status: 'completed', card: { balanceCents: 2500 } });
    // The agent holds the card it asked for.
    const cards = await cli(['cards', '--json'], agentEnv);
    expect(JSON.parse(cards.stdout).cards).toHaveLength(1);
    // Answered: approving again pays nothing.
    const again = await cli(['approve', link, '-y'], ownerEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is completed; nothing to approve');
  }, 120_000);

  it('reject: the request can never be paid; declining the confirmation pays nothing', async () => {
    const asked = await cli(['request', 'card', '--amount', '0', '--name', 'Cli Agent', '--email', 'cli@example.com', '--no-wait', '--json'], agentEnv);
    expect(asked.code, asked.stderr).toBe(0);
    const link = local(JSON.parse(asked.stdout).approvalUrl);

    const declined = await cli(['approve', link], ownerEnv, 'n\n');
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('not approved; nothing was paid');

    const rejected = await cli(['reject', link], ownerEnv);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toMatch(/payment request pr_[0-9a-f]{32} rejected; it can no longer be paid/);
    const approve = await cli(['approve', link, '-y'], ownerEnv);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toContain('is rejected; nothing to approve');

    const id = JSON.parse(asked.stdout).id as string;
    expect(JSON.parse((await cli(['request', 'show', id, '--json'], agentEnv)).stdout).status).toBe('rejected');
  }, 60_000);

  it('refuses what is not an approval link', async () => {
    const result = await cli(['approve', `${server.apiUrl}/cards/abc`], ownerEnv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not an approval link');
    expect((await cli(['approve'], ownerEnv)).code).toBe(2);
  });

  it('hands a mandate link to mandate approve (one approve command for both kinds of link)', async () => {
    const result = await cli(['approve', `${server.apiUrl}/mandates/md_${'a'.repeat(26)}/approve`], ownerEnv);
    expect(result.code).not.toBe(0);
    expect(result.stderr).not.toContain('not an approval link');
    expect(result.stderr.toLowerCase()).toContain('mandate');
  });
});
