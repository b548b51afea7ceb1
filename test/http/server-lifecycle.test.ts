import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { InstanceLockError } from '../../src/db/instance-lock.js';
import { createMemoryLogger } from '../../src/logger.js';
import { startCard402 } from '../../src/server.js';

function configFor(dataDir: string, env: Record<string, string> = {}) {
  return loadConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: '500', DATA_DIR: dataDir, ...env });
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
