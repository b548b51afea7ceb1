import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';


function home() {
  return mkdtempSync(path.join(os.tmpdir(), 'card402-cli-'));
}

describe('card402 wallet', () => {
  it('creates a key file with mode 0600 and prints the address, never the secret', async () => {
    const dir = home();
    const res = await cli(['wallet', 'create', '--json'], { CARD402_HOME: dir });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    const file = path.join(dir, 'wallet.json');
    expect(out).toEqual({ address: expect.stringMatching(/^G[A-Z2-7]{55}$/), walletFile: file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(Keypair.fromSecret(saved.secretKey).publicKey()).toBe(out.address);
    expect(res.stdout + res.stderr).not.toContain(saved.secretKey);
  });

  it('refuses to overwrite an existing wallet without --force (exit 1, one line)', async () => {
    const dir = home();
    expect((await cli(['wallet', 'create'], { CARD402_HOME: dir })).code).toBe(0);
    const again = await cli(['wallet', 'create'], { CARD402_HOME: dir });
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('already exists');
  });

  it('imports a secret from standard input without echoing it', async () => {
    const dir = home();
    const keypair = Keypair.random();
    const res = await cli(['wallet', 'import', '--json'], { CARD402_HOME: dir }, keypair.secret() + '\n');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).address).toBe(keypair.publicKey());
    expect(res.stdout + res.stderr).not.toContain(keypair.secret());
    const info = await cli(['wallet', 'info', '--json', '--rpc', 'http://127.0.0.1:9/soroban/rpc'], { CARD402_HOME: dir });
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ address: keypair.publicKey() });
    expect(info.stdout).not.toContain(keypair.secret());
  });

  it('rejects a bad secret with a usage exit code', async () => {
    const res = await cli(['wallet', 'import'], { CARD402_HOME: home() }, 'SNOTASECRET\n');
    expect(res.code).toBe(2);
    expect(res.stderr).not.toContain('SNOTASECRET');
  });

  it('reports usage errors with exit 2 and JSON errors with --json', async () => {
    expect((await cli(['frobnicate'], { CARD402_HOME: home() })).code).toBe(2);
    expect((await cli(['--bogus-flag'], { CARD402_HOME: home() })).code).toBe(2);
    const res = await cli(['cards', '--json'], { CARD402_HOME: home() });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ error: expect.stringContaining('no wallet') });
  });

  it('prints help', async () => {
    const res = await cli(['--help'], {});
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('card create --amount');
  });
});
