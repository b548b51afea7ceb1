import { ConfigError } from './config.js';
import { createLogger } from './logger.js';
import { loadServerConfig, startCard402, type ServerConfig } from './server.js';

function configOrExit(): ServerConfig {
  try {
    return loadServerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`card402: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** How long after SHUTDOWN_GRACE_MS a shutdown that has not finished is cut short. */
const FORCED_EXIT_MARGIN_MS = 10_000;

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel });
  const running = await startCard402(config, logger);
  logger.info('card402 listening', { url: running.url, database: config.database.kind === 'sqlite' ? config.databasePath : 'postgres', network: config.stellar.network, rpcUrl: running.rpcUrl });
  const local = running.localnet;
  process.stdout.write(
    `\ncard402 is up at ${running.url}\n` +
      `  try: curl ${running.url}/health\n` +
      `       curl ${running.url}/pricing\n` +
      (local
        ? `  local Stellar ledger: ${local.server.rpcUrl}\n  friendbot: ${local.friendbotUrl}?addr=G... (add &asset=USDC&amount=100 for test USDC)\n` +
          `  the whole story in one command: npm run demo\n`
        : '') +
      '\n',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // close() drains within SHUTDOWN_GRACE_MS, then releases leases and closes the db; this only
    // catches a close that hangs after that (an unreachable database).
    const force = setTimeout(() => {
      logger.warn('shutdown did not finish in time; exiting anyway');
      process.exit(1);
    }, config.shutdownGraceMs + FORCED_EXIT_MARGIN_MS);
    force.unref();
    running.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`card402 failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
