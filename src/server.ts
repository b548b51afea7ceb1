import { readFileSync } from 'node:fs';
import type { ServerType } from '@hono/node-server';
import { createApp } from './app.js';
import { startAuditRetention } from './cards/audit-retention.js';
import { assertKeyOpensStoredCards } from './cards/card-data.js';
import { newestCardCiphertext } from './cards/repository.js';
import { SandboxIssuer } from './cards/sandbox-issuer.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { acquireInstanceLock } from './db/instance-lock.js';
import { migrateToLatest, openDatabase } from './db/open.js';
import { preparePrivateDataDir, preparePrivateDatabaseFile } from './db/private-files.js';
import { serveHttp } from './http/kernel/serve.js';
import { loadLocalnetEnv, localnetSettings, type LocalnetSettings } from './localnet/config.js';
import { LOCALNET_NETWORK, LOCALNET_USDC_CONTRACT, createLocalnet, serveLocalnet, type Localnet, type LocalnetServer } from './localnet/index.js';
import type { Logger } from './logger.js';
import { buildPaymentStack, loadCardDataCipher, startPaymentRuntime } from './payments/wiring.js';
import { loadStellarKeys, prepareLocalKeys, type StellarKeys } from './stellar/keys.js';

export interface RunningCard402 {
  url: string;
  rpcUrl: string;
  /** Set when the embedded local ledger runs. */
  localnet?: { ledger: Localnet; server: LocalnetServer; friendbotUrl: string };
  /** Stops accepting requests, lets in-flight ones finish, then stops background work and closes the db. */
  close(): Promise<void>;
}

/**
 * What the server boots from: the production configuration, and beside it the settings of the
 * local ledger, a development tool composed here and started only when no STELLAR_RPC_URL is set.
 */
export type ServerConfig = Config & { localnet: LocalnetSettings };

/** Pure: loadConfig plus the LOCALNET_* variables; every bad variable of both is named in one ConfigError. */
export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(cleaned);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  let localnet: ReturnType<typeof loadLocalnetEnv> | undefined;
  try {
    localnet = loadLocalnetEnv(cleaned);
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  if (config) problems.push(...embeddedLedgerMismatches(config));
  if (!config || !localnet || problems.length > 0) throw new ConfigError(problems);
  return { ...config, localnet: localnetSettings(localnet, config.dataDir) };
}

/**
 * Without STELLAR_RPC_URL card402 pays and settles on its embedded ledger, which poses as one
 * network with one USDC contract: a configuration asking for another could not take a payment
 * (signatures commit to the network passphrase, and the asset would not exist), so it does not start.
 */
function embeddedLedgerMismatches(config: Config): string[] {
  if (config.stellar.rpcUrl) return [];
  const problems: string[] = [];
  if (config.stellar.network !== LOCALNET_NETWORK) {
    problems.push(
      `STELLAR_NETWORK: ${config.stellar.network} needs STELLAR_RPC_URL; without it card402 runs its embedded ledger, which poses as ${LOCALNET_NETWORK} only`,
    );
  } else if (config.stellar.usdcContract !== LOCALNET_USDC_CONTRACT) {
    problems.push(`USDC_CONTRACT: the embedded ledger (no STELLAR_RPC_URL) serves only USDC ${LOCALNET_USDC_CONTRACT}; set STELLAR_RPC_URL or leave USDC_CONTRACT unset`);
  }
  return problems;
}

async function startEmbeddedLocalnet(settings: LocalnetSettings, logger: Logger) {
  const ledger = createLocalnet({
    ledgerMs: settings.ledgerMs,
    statePath: settings.statePath,
    log: (event, fields) => logger.debug(event, fields),
  });
  const tls = settings.tls;
  const server = await serveLocalnet(ledger, {
    port: settings.port,
    host: settings.host,
    ...(tls ? { tls: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), port: tls.port } } : {}),
  });
  // The clock starts only once the ledger is served, so a start that fails to listen leaves no timer behind.
  ledger.start();
  logger.info('embedded local Stellar ledger running', { rpcUrl: server.rpcUrl, httpsRpcUrl: server.httpsRpcUrl, friendbot: `${server.url}/friendbot` });
  return { ledger, server, friendbotUrl: `${server.url}/friendbot` };
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeIdleConnections' in server) (server as { closeIdleConnections(): void }).closeIdleConnections();
  });
}

/** Undoes what start-up has done so far, last first; a failed start leaves nothing running. */
class Teardown {
  private readonly steps: Array<() => Promise<void> | void> = [];
  add(step: () => Promise<void> | void): void {
    this.steps.unshift(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0)) await step();
  }
}

/**
 * Boots card402 from configuration: database and migrations, pruning of the details access audit,
 * keys, the embedded ledger when no STELLAR_RPC_URL is set, the payment stack, start-up recovery
 * of unfinished payments, the reconciler, and the HTTP server. Used by `npm start` and by the demo.
 */
export async function startCard402(config: ServerConfig, logger: Logger, clock: Clock = systemClock): Promise<RunningCard402> {
  const teardown = new Teardown();
  try {
    // Emails, names and payer addresses: DATA_DIR 0700 and the database files 0600, also when an
    // older version created them readable by others.
    const tightened = [...preparePrivateDataDir(config.dataDir), ...preparePrivateDatabaseFile(config.databasePath)];
    for (const change of tightened) logger.warn('took away permissions other users had on a private file', { ...change });
    const lock = acquireInstanceLock(`${config.databasePath}.lock`);
    teardown.add(() => lock.release());
    const db = openDatabase(config.databasePath);
    teardown.add(() => db.destroy());
    await migrateToLatest(db);
    // Audit rows past retention go at start-up, then hourly.
    const auditRetention = await startAuditRetention({ db, clock, logger, retentionDays: config.details.auditRetentionDays });
    teardown.add(() => auditRetention.stop());
    const cardCipher = loadCardDataCipher(config, logger);
    assertKeyOpensStoredCards(cardCipher, await newestCardCiphertext(db), config.cardDataKey ? 'CARD_DATA_KEY' : 'DATA_DIR/keys/card-data.key');

    const localnet = config.stellar.rpcUrl ? undefined : await startEmbeddedLocalnet(config.localnet, logger);
    if (localnet) {
      teardown.add(async () => {
        await localnet.ledger.stop();
        await localnet.server.close();
      });
    }
    const keys: StellarKeys = localnet ? prepareLocalKeys(config, localnet.ledger, logger) : loadStellarKeys(config, logger);
    const rpcUrl = config.stellar.rpcUrl ?? localnet!.server.rpcUrl;
    const issuer = new SandboxIssuer({ db, clock, cipher: cardCipher, capacityCents: config.issuer.capacityCents });
    const stack = buildPaymentStack({ config, db, clock, logger, keys, rpcUrl, issuer, cipher: cardCipher });

    // Payments a crash left verified, settling or unfulfilled are resumed before new ones are taken.
    const reconciler = await startPaymentRuntime(stack.service, config, logger);
    teardown.add(() => reconciler.stop());

    const app = createApp({ config, db, clock, logger, cardCipher, paymentTerms: stack.terms, payments: stack.service });
    const { server, port } = await serveHttp(app.fetch, { port: config.port, hostname: config.host });
    // In-flight requests finish before anything under them is stopped.
    teardown.add(() => closeServer(server));
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    return {
      url: `http://${host}:${port}`,
      rpcUrl,
      ...(localnet ? { localnet } : {}),
      close: () => teardown.run(),
    };
  } catch (err) {
    await teardown.run();
    throw err;
  }
}
