import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { insertCard } from '../../src/cards/repository.js';
import { RedeemTokens, loadRedeemTokenSecrets } from '../../src/cards/sessions/redeem-tokens.js';
import { insertCardSession, transitionCardSession } from '../../src/cards/sessions/repository.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { createMemoryLogger } from '../../src/logger.js';
import { loadServerConfig, startCard402 } from '../../src/server.js';
import { sampleDetails } from '../helpers/wallet.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'card402-redeem-'));
  dirs.push(dir);
  return dir;
}

describe('the redeem token signing secret', () => {
  it('on the local default is generated once into DATA_DIR/keys/card-session-token.key, mode 0600, and reused', () => {
    const dataDir = tempDir();
    const config = loadConfig({ DATA_DIR: dataDir });
    const logger = createMemoryLogger();
    const first = loadRedeemTokenSecrets(config, logger);
    const file = path.join(dataDir, 'keys', 'card-session-token.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.current).toHaveLength(32);
    expect(first.previous).toBeUndefined();
    expect(loadRedeemTokenSecrets(config, logger).current.equals(first.current)).toBe(true);
    expect(logger.lines.join('\n')).not.toContain(readFileSync(file, 'utf8').trim());
  });

  it('comes from CARD_SESSION_TOKEN_SECRET (hex or base64), with CARD_SESSION_TOKEN_PREVIOUS_SECRET for a rotation', () => {
    const dataDir = tempDir();
    const current = randomBytes(32);
    const previous = randomBytes(32);
    const config = loadConfig({ DATA_DIR: dataDir, CARD_SESSION_TOKEN_SECRET: current.toString('hex'), CARD_SESSION_TOKEN_PREVIOUS_SECRET: previous.toString('base64') });
    const secrets = loadRedeemTokenSecrets(config, createMemoryLogger());
    expect(secrets.current.equals(current)).toBe(true);
    expect(secrets.previous!.equals(previous)).toBe(true);
  });

  it.each([
    [{ CARD_SESSION_TOKEN_SECRET: 'short' }, 'CARD_SESSION_TOKEN_SECRET'],
    [{ CARD_SESSION_TOKEN_PREVIOUS_SECRET: randomBytes(32).toString('hex') }, 'CARD_SESSION_TOKEN_PREVIOUS_SECRET'],
    [{ SECRETS_SESSION_TTL_SECONDS: '0' }, 'SECRETS_SESSION_TTL_SECONDS'],
  ])('refuses %j naming %s, never echoing the value', (env, name) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(name);
    for (const value of Object.values(env)) if (value.length > 8) expect((error as ConfigError).message).not.toContain(value);
  });

  it('tokens are HS256 and verify only with a secret that signed them', async () => {
    const a = new RedeemTokens({ current: randomBytes(32) });
    const token = await a.sign({ sessionId: 'cs_x', cardId: 'c', wallet: 'G', issuedAtMs: 1_000, expiresAtMs: 61_000 });
    expect(await a.verify(token)).toEqual({ scope: 'card-session:redeem:c', sub: 'G', jti: 'cs_x', iat: 1, exp: 61 });
    expect(await new RedeemTokens({ current: randomBytes(32) }).verify(token)).toBeNull();
    expect(() => new RedeemTokens({ current: randomBytes(16) })).toThrow(RangeError);
  });
});

describe('start-up', () => {
  it('scrubs sessions that finished while the server was down', async () => {
    const dataDir = tempDir();
    const config = loadServerConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: 'manual', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    // A first start generates the keys; then a card with one expired and one redeemed session.
    await (await startCard402(config, createMemoryLogger('silent'))).close();
    const { loadOrCreateRandomKeyFile } = await import('../../src/secrets/key-files.js');
    const { key } = loadOrCreateRandomKeyFile(dataDir, 'card-data', 32);
    const db = openDatabase(config.databasePath);
    await migrateToLatest(db);
    const cardId = randomUUID();
    const now = Date.now();
    await insertCard(db, {
      id: cardId, agent_address: 'GA', owner_address: 'GA', name_on_card: 'Sam Sweep', email: 's@example.com', status: 'active', details_revoked: 0,
      last_four: '0000', details_ciphertext: new CardDataCipher(key).encrypt(cardId, sampleDetails()), provider_ref: 'p', created_at: now, updated_at: now,
    });
    await insertCardSession(db, { id: 'cs_expired', cardId, createdBy: 'GA', maxRedeemCount: 1, tokenHash: 'aa', expiresAtMs: now - 1, nowMs: now - 60_000 });
    await insertCardSession(db, { id: 'cs_redeemed', cardId, createdBy: 'GA', maxRedeemCount: 1, tokenHash: 'bb', expiresAtMs: now + 60_000, nowMs: now });
    await transitionCardSession(db, 'cs_redeemed', { from: 'active', to: 'redeemed', redeemCount: 1, nowMs: now });
    await insertCardSession(db, { id: 'cs_live', cardId, createdBy: 'GA', maxRedeemCount: 1, tokenHash: 'cc', expiresAtMs: now + 600_000, nowMs: now });
    await db.destroy();

    await (await startCard402(config, createMemoryLogger('silent'))).close();
    const after = openDatabase(config.databasePath);
    const rows = await after.selectFrom('card_sessions').select(['id', 'status', 'token_hash']).orderBy('id').execute();
    await after.destroy();
    expect(rows).toEqual([
      { id: 'cs_expired', status: 'scrubbed', token_hash: null },
      { id: 'cs_live', status: 'active', token_hash: 'cc' },
      { id: 'cs_redeemed', status: 'scrubbed', token_hash: null },
    ]);
  });
});
