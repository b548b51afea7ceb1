/**
 * One card402 API process for the authorization benchmark: the production createApp() over a SQLite
 * file with the sandbox card network on. Prints `ready <port>` when listening.
 *
 *   tsx bench/authorizations/server.ts <sqlite file>
 * Env: CARD_DATA_KEY (hex) and the usual card402 variables (LOG_LEVEL).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Keypair } from '@stellar/stellar-sdk';
import { createApp } from '../../src/app.js';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { RedeemTokens, loadRedeemTokenSecrets } from '../../src/cards/sessions/redeem-tokens.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { startWalCheckpointer } from '../../src/db/wal-checkpointer.js';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { benchLogger } from '../logger.js';

const [dbFile] = process.argv.slice(2);
if (!dbFile) {
  process.stderr.write('usage: server.ts <sqlite file>\n');
  process.exit(2);
}
const config = loadConfig(process.env);
if (!config.cardDataKey) throw new Error('CARD_DATA_KEY is required');
const db = openDatabase(dbFile);
await migrateToLatest(db);
// As in production (src/server.ts): WAL checkpoints on a worker thread.
const checkpointer = await startWalCheckpointer(db, dbFile);
const logger = await benchLogger(config.logLevel);
const app = createApp({
  config,
  db,
  clock: systemClock,
  logger,
  redeemTokens: new RedeemTokens(loadRedeemTokenSecrets(config, logger)),
  paymentTerms: { network: config.stellar.network, asset: config.stellar.usdcContract, payTo: Keypair.random().publicKey(), maxTimeoutSeconds: 60 },
  cardCipher: new CardDataCipher(config.cardDataKey),
  sandboxCardNetwork: true,
});
const { server, port } = await serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1' });
// How long the event loop was blocked (warm-up included): tells stalls in this process from time
// the machine gave to other processes.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
process.stdout.write(`ready ${port}\n`);
process.on('SIGTERM', () => {
  loopDelay.disable();
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  process.stderr.write(`server event-loop delay: p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms\n`);
  server.close(() => checkpointer.stop().then(() => db.destroy()).then(() => process.exit(0)));
});
