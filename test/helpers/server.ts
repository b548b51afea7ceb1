import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { createMemoryLogger } from '../../src/logger.js';
import { loadServerConfig, startCard402, type RunningCard402 } from '../../src/server.js';
import { createTestDatabase, testDialect } from './store.js';

export interface BootedServer {
  running: RunningCard402;
  apiUrl: string;
  rpcUrl: string;
  friendbotUrl: string;
  logs: string[];
  /** A new wallet funded through friendbot over HTTP: XLM and `usdc` test USDC. */
  fundedWallet(usdc?: string): Promise<Keypair>;
  close(): Promise<void>;
}

/**
 * card402 exactly as `npm start` boots it (startCard402), on free ports with fast ledgers; on the
 * PostgreSQL run, on a new database of the test server (unless `env` names a store).
 */
export async function bootServer(env: Record<string, string> = {}): Promise<BootedServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-server-'));
  const store = testDialect() === 'postgres' && !env.DATABASE_URL && !env.DATABASE_PATH ? { DATABASE_URL: await createTestDatabase() } : {};
  const config = loadServerConfig({
    ...store,
    PORT: '0',
    LOCALNET_PORT: '0',
    LOCALNET_LEDGER_MS: '500',
    STELLAR_LEDGER_SECONDS: '1',
    DATA_DIR: dataDir,
    ...env,
  });
  const logger = createMemoryLogger('debug');
  const running = await startCard402(config, logger);
  const friendbotUrl = running.localnet!.friendbotUrl;
  const friendbot = async (query: string) => {
    const res = await fetch(`${friendbotUrl}?${query}`);
    if (!res.ok) throw new Error(`friendbot: HTTP ${res.status} ${await res.text()}`);
  };
  return {
    running,
    apiUrl: running.url,
    rpcUrl: running.rpcUrl,
    friendbotUrl,
    logs: logger.lines,
    async fundedWallet(usdc = '500') {
      const kp = Keypair.random();
      await friendbot(`addr=${kp.publicKey()}`);
      await friendbot(`addr=${kp.publicKey()}&asset=USDC&amount=${usdc}`);
      return kp;
    },
    async close() {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
