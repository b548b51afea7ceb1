import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLocalnet } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { LOCAL_FUNDING_STROOPS, loadStellarKeys, prepareLocalKeys } from '../../src/stellar/keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'card402-keys-'));
  dirs.push(dir);
  return dir;
}

describe('settlement keys for the embedded local ledger', () => {
  it('generates treasury and channel keys once (mode 0600), funds them, and logs addresses, never secrets', async () => {
    const dir = dataDir();
    const config = loadConfig({ DATA_DIR: dir, CHANNEL_COUNT: '3' });
    const localnet = createLocalnet({ ledgerMs: 'manual' });
    const logger = createMemoryLogger();
    const keys = prepareLocalKeys(config, localnet, logger);
    expect(keys.channels).toHaveLength(3);
    expect(keys.mandate).toBeDefined();
    for (const [name, kp] of [['treasury', keys.treasury], ['mandate', keys.mandate!], ...keys.channels.map((k, i) => [`channel-${i + 1}`, k] as const)] as const) {
      const file = path.join(dir, 'keys', `${name}.secret`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(kp.secret());
      expect(localnet.xlmBalance(kp.publicKey())).toBe(LOCAL_FUNDING_STROOPS);
      expect(logger.lines.join('\n')).toContain(kp.publicKey());
      expect(logger.lines.join('\n')).not.toContain(kp.secret());
    }
    expect(localnet.usdcBalance(keys.treasury.publicKey())).toBe(0n);

    // Second start: the same keys, nothing generated or funded again.
    const again = prepareLocalKeys(config, localnet, createMemoryLogger());
    expect(again.treasury.publicKey()).toBe(keys.treasury.publicKey());
    expect(again.channels.map((k) => k.publicKey())).toEqual(keys.channels.map((k) => k.publicKey()));
    expect(localnet.xlmBalance(keys.treasury.publicKey())).toBe(LOCAL_FUNDING_STROOPS);
    await localnet.stop();
  });

  it('uses configured secrets and refuses overlapping roles', () => {
    const treasury = Keypair.random();
    const channel = Keypair.random();
    const mandate = Keypair.random();
    const config = loadConfig({ DATA_DIR: dataDir(), TREASURY_SECRET: treasury.secret(), CHANNEL_SECRETS: channel.secret(), MANDATE_SECRET: mandate.secret() });
    const keys = loadStellarKeys(config, createMemoryLogger());
    expect(keys.treasury.publicKey()).toBe(treasury.publicKey());
    expect(keys.channels.map((k) => k.publicKey())).toEqual([channel.publicKey()]);
    expect(keys.mandate?.publicKey()).toBe(mandate.publicKey());
    expect(keys.generated).toEqual([]);
    const clash = loadConfig({ DATA_DIR: dataDir(), TREASURY_SECRET: treasury.secret(), CHANNEL_SECRETS: treasury.secret() });
    expect(() => loadStellarKeys(clash, createMemoryLogger())).toThrow(/different/);
    const mandateClash = loadConfig({ DATA_DIR: dataDir(), TREASURY_SECRET: treasury.secret(), MANDATE_SECRET: treasury.secret() });
    expect(() => loadStellarKeys(mandateClash, createMemoryLogger())).toThrow(/different/);
  });
});
