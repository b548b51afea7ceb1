import { readFileSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { Keypair } from '@stellar/stellar-sdk';
import { createApp } from './app.js';
import { CARD_DATA_KEY_BYTES, CardDataCipher } from './cards/card-data.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { migrateToLatest, openDatabase } from './db/open.js';
import { createLogger, type Logger } from './logger.js';
import { createLocalnet, serveLocalnet, type LocalnetServer } from './localnet/index.js';
import { loadOrCreateKeyFile, loadOrCreateRandomKeyFile } from './secrets/key-files.js';

const DEFAULT_MAX_TIMEOUT_SECONDS = 60;

function treasuryKeypair(config: Config, logger: Logger): Keypair {
  if (config.stellar.treasurySecret) return Keypair.fromSecret(config.stellar.treasurySecret);
  const { keypair, created, file } = loadOrCreateKeyFile(config.dataDir, 'treasury');
  if (created) logger.info('generated treasury key', { file, address: keypair.publicKey() });
  return keypair;
}

/** With no STELLAR_RPC_URL, card402 runs its own local ledger so it works offline out of the box. */
async function startEmbeddedLocalnet(config: Config, logger: Logger): Promise<LocalnetServer> {
  const localnet = createLocalnet({
    ledgerMs: config.localnet.ledgerMs,
    statePath: config.localnet.statePath,
    log: (event, fields) => logger.debug(event, fields),
  });
  localnet.start();
  const tls = config.localnet.tls;
  const server = await serveLocalnet(localnet, {
    port: config.localnet.port,
    host: config.localnet.host,
    ...(tls ? { tls: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), port: tls.port } } : {}),
  });
  logger.info('embedded local Stellar ledger running', { rpcUrl: server.rpcUrl, friendbot: `${server.url}/friendbot` });
  return {
    ...server,
    close: async () => {
      await localnet.stop();
      await server.close();
    },
  };
}

function cardDataKey(config: Config, logger: Logger): Buffer {
  if (config.cardDataKey) return config.cardDataKey;
  const { key, created, file } = loadOrCreateRandomKeyFile(config.dataDir, 'card-data', CARD_DATA_KEY_BYTES);
  if (created) logger.info('generated card data key', { file });
  return key;
}

function listen(app: ReturnType<typeof createApp>, config: Config): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(server));
    server.once('error', reject);
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`card402: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const db = openDatabase(config.databasePath);
  await migrateToLatest(db);
  const treasury = treasuryKeypair(config, logger);
  const localnet = config.stellar.rpcUrl ? undefined : await startEmbeddedLocalnet(config, logger);
  const rpcUrl = config.stellar.rpcUrl ?? localnet!.rpcUrl;

  const app = createApp({
    config,
    db,
    clock: systemClock,
    logger,
    paymentTerms: {
      network: config.stellar.network,
      asset: config.stellar.usdcContract,
      payTo: treasury.publicKey(),
      maxTimeoutSeconds: DEFAULT_MAX_TIMEOUT_SECONDS,
    },
    cardCipher: new CardDataCipher(cardDataKey(config, logger)),
  });
  const server = await listen(app, config);
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  logger.info('card402 listening', { url, database: config.databasePath, network: config.stellar.network, rpcUrl });
  process.stdout.write(
    `\ncard402 is up at ${url}\n  try: curl ${url}/health\n       curl ${url}/pricing\n` +
      (localnet ? `  local Stellar ledger: ${localnet.rpcUrl} (friendbot: ${localnet.url}/friendbot?addr=G...)\n` : '') +
      '\n',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing anyway');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    // close() stops accepting and resolves once in-flight requests have finished.
    server.close(async () => {
      await localnet?.close();
      await db.destroy();
      logger.info('stopped');
      process.exit(0);
    });
    if ('closeIdleConnections' in server) (server as { closeIdleConnections(): void }).closeIdleConnections();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`card402 failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
