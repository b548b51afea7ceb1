import { readFileSync } from 'node:fs';
import { buildSpendingService, createApp } from './app.js';
import { CardNetworkIndex } from './cards/spend/network-index.js';
import { repeatEvery } from './repeat.js';
import { startAuditRetention } from './cards/audit-retention.js';
import { startIdempotencyRetention } from './http/idempotency/retention.js';
import { assertKeyOpensStoredCards } from './cards/card-data.js';
import { newestCardCiphertext } from './cards/repository.js';
import { SandboxIssuer } from './cards/sandbox-issuer.js';
import { RedeemTokens, loadRedeemTokenSecrets } from './cards/sessions/redeem-tokens.js';
import { startSessionSweeper } from './cards/sessions/sweeper.js';
import { systemClock, type Clock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { acquireInstanceLock } from './db/instance-lock.js';
import { migrateToLatest, openStore } from './db/open.js';
import { startWalCheckpointer } from './db/wal-checkpointer.js';
import { preparePrivateDataDir, preparePrivateDatabaseFile } from './db/private-files.js';
import { serveHttp } from './http/kernel/serve.js';
import { Metrics } from './metrics/index.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { startWebhookRetention } from './webhooks/retention.js';
import { loadLocalnetEnv, localnetSettings, type LocalnetSettings } from './localnet/config.js';
import { createLocalnet, localnetNetwork, serveLocalnet, type Localnet, type LocalnetServer } from './localnet/index.js';
import type { StellarNetwork } from './protocol/networks.js';
import type { Logger } from './logger.js';
import { buildPaymentStack, loadCardDataCipher, prepareChannels, startPaymentRuntime } from './payments/wiring.js';
import { loadStellarKeys, prepareLocalKeys, type StellarKeys } from './stellar/keys.js';

export interface RunningCard402 {
  url: string;
  rpcUrl: string;
  /** Set when the embedded local ledger runs. */
  localnet?: { ledger: Localnet; server: LocalnetServer; friendbotUrl: string };
  /**
   * Graceful shutdown: stops accepting requests, lets in-flight ones and their settlements finish
   * (within SHUTDOWN_GRACE_MS), then stops background work, gives back the leases and closes the db.
   */
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
  if (config) problems.push(...embeddedLedgerMismatches(config, localnet?.LOCALNET_NETWORK));
  if (!config || !localnet || problems.length > 0) throw new ConfigError(problems);
  return { ...config, localnet: localnetSettings(localnet, config.dataDir) };
}

/**
 * Without STELLAR_RPC_URL card402 pays and settles on its embedded ledger, which poses as STELLAR_NETWORK
 * (testnet or pubnet) and serves only that network's USDC contract: a configuration asking for another
 * contract could not take a payment (the asset would not exist there), so it does not start. The
 * standalone ledger's LOCALNET_NETWORK cannot pull the embedded one elsewhere: signatures commit to the
 * passphrase, so a ledger on one network and a server on another could never settle.
 */
function embeddedLedgerMismatches(config: Config, localnetNetworkSetting: StellarNetwork | undefined): string[] {
  if (config.stellar.rpcUrl) return [];
  const problems: string[] = [];
  if (localnetNetworkSetting !== undefined && localnetNetworkSetting !== config.stellar.network) {
    problems.push(
      `LOCALNET_NETWORK: ${localnetNetworkSetting} differs from STELLAR_NETWORK ${config.stellar.network}; the embedded ledger (no STELLAR_RPC_URL) poses as STELLAR_NETWORK, so unset LOCALNET_NETWORK`,
    );
  }
  const served = localnetNetwork(config.stellar.network).usdcContract;
  if (config.stellar.usdcContract !== served) {
    problems.push(
      `USDC_CONTRACT: the embedded ledger (no STELLAR_RPC_URL) serves only USDC ${served}, the ${config.stellar.network} one; set STELLAR_RPC_URL or leave USDC_CONTRACT unset`,
    );
  }
  return problems;
}

async function startEmbeddedLocalnet(settings: LocalnetSettings, network: StellarNetwork, logger: Logger) {
  const ledger = createLocalnet({
    network: localnetNetwork(network),
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
  logger.info('embedded local Stellar ledger running', { network, rpcUrl: server.rpcUrl, httpsRpcUrl: server.httpsRpcUrl, friendbot: `${server.url}/friendbot` });
  return { ledger, server, friendbotUrl: `${server.url}/friendbot` };
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
    const location = config.database;
    const tightened = [...preparePrivateDataDir(config.dataDir), ...(location.kind === 'sqlite' ? preparePrivateDatabaseFile(location.path) : [])];
    for (const change of tightened) logger.warn('took away permissions other users had on a private file', { ...change });
    if (location.kind === 'sqlite') {
      const lock = acquireInstanceLock(`${location.path}.lock`);
      teardown.add(() => lock.release());
    }
    const db = openStore(location);
    teardown.add(() => db.destroy());
    // On PostgreSQL several instances may share the database: what they share is leased or locked
    // there (src/db/leases.ts), so there is no instance lock.
    await migrateToLatest(db);
    // WAL checkpoints (copy into the database file, fsync) run on a worker thread, not between
    // requests (SQLite only: PostgreSQL checkpoints on its own).
    if (location.kind === 'sqlite' && location.path !== ':memory:') {
      const checkpointer = await startWalCheckpointer(db, location.path, { logger });
      teardown.add(() => checkpointer.stop());
    }
    // Audit rows past retention go at start-up, then hourly.
    const auditRetention = await startAuditRetention({ db, clock, logger, retentionDays: config.details.auditRetentionDays });
    teardown.add(() => auditRetention.stop());
    // Idempotency keys past their 24 h go at start-up, then hourly.
    const idempotencyRetention = await startIdempotencyRetention({ db, clock, logger });
    teardown.add(() => idempotencyRetention.stop());
    const cardCipher = loadCardDataCipher(config, logger);
    assertKeyOpensStoredCards(cardCipher, await newestCardCiphertext(db), config.cardDataKey ? 'CARD_DATA_KEY' : 'DATA_DIR/keys/card-data.key');

    const localnet = config.stellar.rpcUrl ? undefined : await startEmbeddedLocalnet(config.localnet, config.stellar.network, logger);
    if (localnet) {
      teardown.add(async () => {
        await localnet.ledger.stop();
        await localnet.server.close();
      });
    }
    // On the embedded ledger the channels are created like on a real network, from the funding
    // account (prepareChannels, below); a ledger closed by hand only (LOCALNET_LEDGER_MS=manual)
    // would never land those transactions, so there they are funded directly.
    const keys: StellarKeys = localnet
      ? prepareLocalKeys(config, localnet.ledger, logger, { channels: config.localnet.ledgerMs === 'manual' ? 'fund' : 'leave' })
      : loadStellarKeys(config, logger);
    const rpcUrl = config.stellar.rpcUrl ?? localnet!.server.rpcUrl;
    const issuer = new SandboxIssuer({ db, clock, cipher: cardCipher, capacityCents: config.issuer.capacityCents });
    const metrics = new Metrics();
    const stack = buildPaymentStack({ config, db, clock, logger, keys, rpcUrl, issuer, cipher: cardCipher, metrics });
    // Last of the payment work to stop: the leases on payments and channels go back to the other
    // instances once nothing here uses them (a process that dies loses them when they expire).
    if (stack.leases) teardown.add(() => stack.leases!.close());
    // The channel accounts exist and hold XLM before the first payment is taken.
    const channelUpkeep = await prepareChannels(stack, config, logger);
    teardown.add(() => channelUpkeep.stop());

    // Payments a crash left verified, settling or unfulfilled are resumed before new ones are taken.
    const reconciler = await startPaymentRuntime(stack.service, config, logger);
    teardown.add(() => reconciler.stop());
    // The webhook outbox: deliveries a previous process left pending (or in flight) are sent from here.
    const webhookDispatcher = new WebhookDispatcher({
      db,
      clock,
      logger,
      masterKey: cardCipher.deriveKey('webhook-secrets'),
      allowPrivateAddresses: config.webhooks.allowPrivateAddresses,
      timeoutMs: config.webhooks.timeoutMs,
      retryBaseMs: config.webhooks.retryBaseMs,
    }).start(config.webhooks.dispatchIntervalMs);
    teardown.add(() => webhookDispatcher.stop());
    const webhookRetention = await startWebhookRetention({ db, clock, logger, retentionDays: config.webhooks.retentionDays });
    teardown.add(() => webhookRetention.stop());

    // Finished card and secrets sessions are scrubbed at start-up, then on schedule.
    const sweeper = await startSessionSweeper({ db, clock, logger, intervalMs: config.cardSessions.sweepIntervalMs });
    teardown.add(() => sweeper.stop());
    const redeemTokens = new RedeemTokens(loadRedeemTokenSecrets(config, logger));

    // Cards issued before the card network existed are indexed once; expired holds are swept on schedule.
    await new CardNetworkIndex(cardCipher).backfill(db, cardCipher, clock.nowMs(), logger);
    const spending = buildSpendingService({ config, db, clock, cardCipher });
    await spending.expireDue();
    const sweep = repeatEvery(config.spending.sweepSeconds * 1000, () => spending.expireDue(), (err) => logger.error('authorization expiry sweep failed', { err }));
    teardown.add(() => sweep.stop());

    const app = createApp({
      config,
      db,
      clock,
      logger,
      cardCipher,
      redeemTokens,
      paymentTerms: stack.terms,
      payments: stack.service,
      mandates: stack.mandates,
      facilitator: stack.facilitator,
      channels: stack.channels,
      metrics,
      spending,
      // The sandbox card network charges cards only the sandbox issuer issued.
      sandboxCardNetwork: issuer instanceof SandboxIssuer,
    });
    const served = await serveHttp(app.fetch, { port: config.port, hostname: config.host });
    const port = served.port;
    // Graceful shutdown, first of all: no new requests, the ones in flight answered and the
    // settlements under way finished (within SHUTDOWN_GRACE_MS), before anything under them stops.
    teardown.add(async () => {
      const deadline = Date.now() + config.shutdownGraceMs;
      if (!(await served.drain(config.shutdownGraceMs))) logger.warn('requests still open at the end of SHUTDOWN_GRACE_MS were cut');
      const left = await stack.service.drain(Math.max(0, deadline - Date.now()));
      if (left > 0) logger.warn('payments still settling at shutdown: their leases are given back, the reconciler (here at the next start, or another instance) resumes them', { left });
    });
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
