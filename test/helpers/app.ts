import { Keypair } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { buildSpendingService, createApp, type AppDeps } from '../../src/app.js';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { RedeemTokens } from '../../src/cards/sessions/redeem-tokens.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { openTestDb } from './store.js';
import { createMemoryLogger } from '../../src/logger.js';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  db: Db;
  clock: ManualClock;
  logs: string[];
}

/** A fresh app over a fresh in-memory database, a manual clock and a log collector. */
export async function makeTestApp(overrides: Partial<AppDeps> & { env?: Record<string, string> } = {}): Promise<TestApp> {
  const config = loadConfig({ DATA_DIR: '/nonexistent-card402-test', ...overrides.env });
  const db = overrides.db ?? openTestDb();
  await migrateToLatest(db);
  const clock = new ManualClock(Date.UTC(2026, 10, 21, 12, 0, 0));
  const logger = createMemoryLogger();
  const deps: AppDeps = {
    config,
    db,
    clock,
    logger,
    paymentTerms: {
      network: config.stellar.network,
      asset: config.stellar.usdcContract,
      payTo: Keypair.random().publicKey(),
      maxTimeoutSeconds: 60,
    },
    cardCipher: new CardDataCipher(randomBytes(32)),
    redeemTokens: new RedeemTokens({ current: randomBytes(32) }),
    ...overrides,
  };
  // The app's spending service, reachable by tests (the expiry sweep, the service's own calls).
  deps.spending ??= buildSpendingService(deps);
  return { app: createApp(deps), deps, db, clock, logs: logger.lines };
}
