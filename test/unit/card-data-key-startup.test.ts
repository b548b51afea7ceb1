import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { insertCard } from '../../src/cards/repository.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { createMemoryLogger } from '../../src/logger.js';
import { loadServerConfig, startCard402 } from '../../src/server.js';
import { sampleDetails } from '../helpers/wallet.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function env(dataDir: string, extra: Record<string, string> = {}) {
  return loadServerConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: 'manual', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...extra });
}

async function storeCard(databasePath: string, key: Buffer): Promise<void> {
  const db = openDatabase(databasePath);
  await migrateToLatest(db);
  const id = randomUUID();
  const details = sampleDetails();
  await insertCard(db, {
    id,
    agent_address: 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF',
    owner_address: 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF',
    name_on_card: 'Kim Key',
    email: 'kim@example.com',
    status: 'active',
    details_revoked: 0,
    last_four: details.cardNumber.slice(-4),
    details_ciphertext: new CardDataCipher(key).encrypt(id, details),
    provider_ref: `prov_${id}`,
    created_at: Date.now(),
    updated_at: Date.now(),
  });
  await db.destroy();
}

describe('start-up refuses a card data key that cannot open the stored cards', () => {
  it('a lost key file is not silently replaced while cards sealed with it exist', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-cardkey-'));
    dirs.push(dataDir);
    const config = env(dataDir);
    const first = await startCard402(config, createMemoryLogger('silent'));
    await first.close();
    // The first run generated keys/card-data.key; a card is sealed with it.
    const { loadOrCreateRandomKeyFile } = await import('../../src/secrets/key-files.js');
    const { key } = loadOrCreateRandomKeyFile(dataDir, 'card-data', 32);
    await storeCard(config.databasePath, key);

    unlinkSync(path.join(dataDir, 'keys', 'card-data.key'));
    await expect(startCard402(config, createMemoryLogger('silent'))).rejects.toThrow(/does not decrypt the cards in the database/);
  });

  it('a wrong CARD_DATA_KEY is refused; the right one starts', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-cardkey-'));
    dirs.push(dataDir);
    const right = randomBytes(32);
    const config = env(dataDir, { CARD_DATA_KEY: right.toString('hex') });
    await storeCard(config.databasePath, right);
    const wrong = env(dataDir, { CARD_DATA_KEY: randomBytes(32).toString('hex') });
    await expect(startCard402(wrong, createMemoryLogger('silent'))).rejects.toThrow(/CARD_DATA_KEY/);
    const running = await startCard402(config, createMemoryLogger('silent'));
    await running.close();
  });
});
