import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { ManualClock } from '../../src/clock.js';
import { InstanceLockError } from '../../src/db/instance-lock.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { createMemoryLogger } from '../../src/logger.js';
import { loadServerConfig, startCard402 } from '../../src/server.js';
import { sampleDetails } from '../helpers/wallet.js';

function configFor(dataDir: string, env: Record<string, string> = {}) {
  return loadServerConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: '500', DATA_DIR: dataDir, ...env });
}

describe('one card402 process per database', () => {
  it('refuses a second process on the same data directory until the first has stopped', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-lock-'));
    const first = await startCard402(configFor(dataDir), createMemoryLogger());
    await expect(startCard402(configFor(dataDir), createMemoryLogger())).rejects.toBeInstanceOf(InstanceLockError);
    expect((await fetch(`${first.url}/health`)).status).toBe(200); // the refused start touched nothing of the first
    await first.close();
    expect(existsSync(path.join(dataDir, 'card402.sqlite.lock'))).toBe(false);
    const second = await startCard402(configFor(dataDir), createMemoryLogger());
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
    await second.close();
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-lock-'));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(path.join(dataDir, 'card402.sqlite.lock'), String(gone));
    const running = await startCard402(configFor(dataDir), createMemoryLogger());
    expect((await fetch(`${running.url}/health`)).status).toBe(200);
    await running.close();
    // An earlier incarnation with our own pid (pid 1 in every container start) is stale too.
    writeFileSync(path.join(dataDir, 'card402.sqlite.lock'), String(process.pid));
    const again = await startCard402(configFor(dataDir), createMemoryLogger());
    await again.close();
  });

  it('a start that fails half-way releases everything it took', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-lock-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busyPort = String((blocker.address() as { port: number }).port);
    await expect(startCard402(configFor(dataDir, { LOCALNET_PORT: busyPort }), createMemoryLogger())).rejects.toThrow(/EADDRINUSE/);
    blocker.close();
    expect(existsSync(path.join(dataDir, 'card402.sqlite.lock'))).toBe(false);
    const running = await startCard402(configFor(dataDir), createMemoryLogger());
    await running.close();
  });
});

describe('details access audit retention at start-up', () => {
  it('startCard402 prunes audit rows older than DETAILS_AUDIT_RETENTION_DAYS by its clock before it serves', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-audit-'));
    const key = randomBytes(32);
    const config = configFor(dataDir, { DETAILS_AUDIT_RETENTION_DAYS: '30', CARD_DATA_KEY: key.toString('hex') });
    const seed = openDatabase(config.databasePath);
    await migrateToLatest(seed);
    await seed
      .insertInto('cards')
      .values({
        id: 'c1', agent_address: 'GA', owner_address: 'GA', name_on_card: 'A', email: 'a@b.c', status: 'active',
        details_revoked: 0, last_four: '1234', details_ciphertext: new CardDataCipher(key).encrypt('c1', sampleDetails()), provider_ref: 'p', created_at: 1, updated_at: 1,
      })
      .execute();
    const row = (id: string, at: number) => ({ id, card_id: 'c1', wallet_address: 'GB', ip: '127.0.0.1', user_agent: '', outcome: 'not_authorized' as const, created_at: at });
    await seed.insertInto('card_details_access').values([row('old', Date.UTC(2026, 0, 1)), row('kept', Date.UTC(2026, 3, 15))]).execute();
    await seed.insertInto('card_details_refusals').values({ card_id: 'c1', hour_start: Date.UTC(2026, 0, 1), attempts: 3, first_at: Date.UTC(2026, 0, 1), last_at: Date.UTC(2026, 0, 1) }).execute();
    await seed.destroy();

    const running = await startCard402(config, createMemoryLogger(), new ManualClock(Date.UTC(2026, 4, 1)));
    try {
      const db = openDatabase(config.databasePath);
      expect((await db.selectFrom('card_details_access').select('id').execute()).map((r) => r.id)).toEqual(['kept']);
      expect(await db.selectFrom('card_details_refusals').selectAll().execute()).toEqual([]);
      await db.destroy();
    } finally {
      await running.close();
    }
  });
});
