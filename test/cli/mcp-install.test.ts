import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

const BIN = path.resolve('bin/card402.js');

function tempHome(): { home: string; env: Record<string, string> } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'card402-install-'));
  return { home, env: { HOME: home, CARD402_HOME: path.join(home, '.card402'), CARD402_API_URL: 'http://127.0.0.1:4999' } };
}

const backups = (file: string) => readdirSync(path.dirname(file)).filter((name) => name.startsWith(`${path.basename(file)}.card402-backup-`));

const expectedEntry = (home: string) => ({
  command: process.execPath,
  args: [BIN, 'mcp'],
  env: expect.objectContaining({ CARD402_API_URL: 'http://127.0.0.1:4999', CARD402_WALLET: path.join(home, '.card402', 'wallet.json'), CARD402_SPEND_CAP: '100.00', CARD402_MCP_REVEAL_DETAILS: 'false' }),
});

// Each step spawns the CLI (a cold Node start compiling TypeScript): allow a loaded machine its time.
describe('card402 install: MCP configuration writers on existing files in a temporary home', { timeout: 180_000 }, () => {
  it('Claude Code: merges into ~/.claude.json, keeping other servers and keys, with a backup; again is a no-op', async () => {
    const { home, env } = tempHome();
    const file = path.join(home, '.claude.json');
    const original = { numStartups: 3, projects: { '/x': { mcpServers: { local: { command: 'y' } } } }, mcpServers: { other: { type: 'stdio', command: 'other-mcp', args: [] } } };
    writeFileSync(file, JSON.stringify(original, null, 2), { mode: 0o600 });

    const dry = await cli(['install', '--client', 'claude', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run, nothing written');
    expect(dry.stdout).toContain('+     "card402": {');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(original);
    expect(backups(file)).toEqual([]);

    const run = await cli(['install', '--client', 'claude', '--json'], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ client: 'claude', changed: true, otherServers: ['other'] });
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written).toEqual({ ...original, mcpServers: { other: original.mcpServers.other, card402: { type: 'stdio', ...expectedEntry(home) } } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [backup] = backups(file);
    expect(JSON.parse(readFileSync(path.join(home, backup!), 'utf8'))).toEqual(original);

    const again = await cli(['install', '--client', 'claude'], env);
    expect(again.stdout).toContain('already configured');
    expect(backups(file)).toHaveLength(1);
  }, 120_000);

  it('Claude Code project scope writes ./.mcp.json; Cursor creates ~/.cursor/mcp.json', async () => {
    const { home, env } = tempHome();
    const project = path.join(home, 'project');
    mkdirSync(project);
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [BIN, 'install', '--client', 'claude', '--scope', 'project'], { cwd: project, env: { PATH: process.env.PATH ?? '', ...env } }, (err) => (err ? reject(err) : resolve())),
    );
    expect(JSON.parse(readFileSync(path.join(project, '.mcp.json'), 'utf8')).mcpServers.card402).toMatchObject({ type: 'stdio', ...expectedEntry(home) });

    const cursor = await cli(['install', '--client', 'cursor'], env);
    expect(cursor.code, cursor.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(home, '.cursor', 'mcp.json'), 'utf8'))).toEqual({ mcpServers: { card402: expectedEntry(home) } });
  }, 120_000);

  it('Codex: edits [mcp_servers.card402] in config.toml, keeping comments, other tables and tricky strings byte for byte', async () => {
    const { home, env } = tempHome();
    const file = path.join(home, '.codex', 'config.toml');
    mkdirSync(path.dirname(file));
    const original = [
      '# my codex settings',
      'model = "o3"',
      'notes = """',
      '[mcp_servers.card402]',
      'not a header: inside a multi-line string',
      '"""',
      'matrix = [',
      '  ["a", "b"],',
      ']',
      '',
      '[mcp_servers.other] # keep me',
      'command = "other-mcp"',
      "args = ['--flag', \"x]\"]",
      '',
      '[mcp_servers.other.env]',
      'TOKEN_VAR = "OTHER"',
      '',
      '[profiles.fast]',
      'model = "o4-mini"',
      '',
    ].join('\n');
    writeFileSync(file, original);
    const run = await cli(['install', '--client', 'codex'], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(original.trimEnd())).toBe(true); // everything that was there, untouched, then ours
    const doc = parseToml(text) as Record<string, any>;
    const before = parseToml(original) as Record<string, any>;
    expect(doc.mcp_servers.card402).toEqual(expectedEntry(home));
    expect({ ...doc, mcp_servers: { other: doc.mcp_servers.other } }).toEqual(before);
    expect(backups(file)).toHaveLength(1);

    // Settings changed: the card402 tables are replaced where they are, nothing else moves.
    const appended = text.slice(original.trimEnd().length);
    writeFileSync(file, `${original.trimEnd()}\n${appended}\n[after]\nx = 1\n`);
    const second = await cli(['install', '--client', 'codex', '--api', 'http://127.0.0.1:5999'], env);
    expect(second.code, second.stderr + second.stdout).toBe(0);
    const next = readFileSync(file, 'utf8');
    expect(next.match(/^\[mcp_servers\.card402\]$/gm)).toHaveLength(2); // ours, and the line inside the user's multi-line string
    expect((parseToml(next) as Record<string, any>).notes).toBe(before.notes);
    expect(next.match(/^\[mcp_servers\.card402\.env\]$/gm)).toHaveLength(1);
    expect(next.trimEnd().endsWith('[after]\nx = 1')).toBe(true);
    expect(next.startsWith(original.trimEnd())).toBe(true);
    expect((parseToml(next) as Record<string, any>).mcp_servers.card402.env.CARD402_API_URL).toBe('http://127.0.0.1:5999');
  }, 120_000);

  it('leaves files it cannot edit safely untouched, and says why', async () => {
    const { home, env } = tempHome();
    const codex = path.join(home, '.codex', 'config.toml');
    mkdirSync(path.dirname(codex));
    const dotted = '[mcp_servers]\ncard402.command = "hand-written"\n';
    writeFileSync(codex, dotted);
    const refused = await cli(['install', '--client', 'codex'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('left untouched');
    expect(readFileSync(codex, 'utf8')).toBe(dotted);

    writeFileSync(codex, 'model = \n');
    expect((await cli(['install', '--client', 'codex'], env)).stderr).toContain('not valid TOML');

    const claude = path.join(home, '.claude.json');
    writeFileSync(claude, '{"mcpServers": {');
    const broken = await cli(['install', '--client', 'claude'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('not valid JSON');
    expect(readFileSync(claude, 'utf8')).toBe('{"mcpServers": {');
    expect(backups(claude)).toEqual([]);

    expect((await cli(['install', '--client', 'vscode'], env)).code).toBe(2);
    expect((await cli(['install'], env)).code).toBe(2);
  }, 120_000);

  it('doctor checks the MCP configurations it finds', async () => {
    const { home, env } = tempHome();
    await cli(['wallet', 'create'], env);
    await cli(['install', '--client', 'cursor'], env);
    const doctor = await cli(['doctor', '--json'], env);
    const checks = JSON.parse(doctor.stdout).checks as Array<{ check: string; ok: boolean; detail: string }>;
    expect(checks.find((c) => c.check === 'mcp:cursor')).toMatchObject({ ok: true });

    const file = path.join(home, '.cursor', 'mcp.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.mcpServers.card402.args = ['/nowhere/card402.js', 'mcp'];
    writeFileSync(file, JSON.stringify(config));
    const broken = JSON.parse((await cli(['doctor', '--json'], env)).stdout).checks as typeof checks;
    expect(broken.find((c) => c.check === 'mcp:cursor')).toMatchObject({ ok: false, detail: expect.stringContaining('/nowhere/card402.js does not exist') });
  }, 120_000);
});

describe('card402 onboard', { timeout: 180_000 }, () => {
  let server: BootedServer;
  beforeAll(async () => {
    server = await bootServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('-y: creates and funds a wallet on the local ledger, configures the client, writes the skill, and says what next', async () => {
    const { home } = tempHome();
    const env = { HOME: home, CARD402_HOME: path.join(home, '.card402'), CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    mkdirSync(path.join(home, '.codex'));

    const shown = await cli(['onboard', '--json'], env); // no -y, no terminal: shows the change only
    expect(shown.code, shown.stderr + shown.stdout).toBe(0);
    expect(JSON.parse(shown.stdout).installs[0]).toMatchObject({ client: 'codex', dryRun: true });
    expect(existsSync(path.join(home, '.codex', 'config.toml'))).toBe(false);

    const run = await cli(['onboard', '-y', '--json'], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.ok).toBe(true);
    expect(result.steps.find((s: { step: string }) => s.step === 'funding').detail).toMatch(/wallet holds 100 USDC|funded/);
    expect(result.nextStep).toContain('restart codex');
    const wallet = JSON.parse(readFileSync(path.join(home, '.card402', 'wallet.json'), 'utf8'));
    expect(result.address).toBe(wallet.publicKey);
    const codex = parseToml(readFileSync(path.join(home, '.codex', 'config.toml'), 'utf8')) as Record<string, any>;
    expect(codex.mcp_servers.card402.env.CARD402_API_URL).toBe(server.apiUrl);
    for (const file of [path.join(home, '.card402', 'skills', 'card402', 'SKILL.md'), path.join(home, '.codex', 'skills', 'card402', 'SKILL.md')]) {
      const skill = readFileSync(file, 'utf8');
      expect(skill).toMatch(/^---\nname: card402\ndescription: /);
      expect(skill).toContain('`get_wallet_status`');
      expect(skill).toContain('OVER_SPEND_CAP');
      for (const tool of ['close_card', 'create_card_session', 'get_card_session', 'request_mandate', 'get_mandate']) expect(skill).toContain(`\`${tool}\``);
      expect(skill).toContain('MANDATE_NOT_ACTIVE');
    }
    expect(run.stdout + run.stderr).not.toContain(wallet.secretKey);

    const doctor = JSON.parse((await cli(['doctor', '--json'], env)).stdout);
    expect(doctor.ok, JSON.stringify(doctor)).toBe(true);
  }, 120_000);
});
