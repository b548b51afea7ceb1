import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { NETWORK_PASSPHRASES } from '../protocol/networks.js';
import { CardDataCipher, CARD_DATA_KEY_BYTES } from '../cards/card-data.js';
import type { CardIssuer } from '../cards/issuer.js';
import type { Db } from '../db/open.js';
import { HttpFacilitator } from '../facilitator/http.js';
import { LocalFacilitator } from '../facilitator/local.js';
import type { Facilitator } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import { loadOrCreateRandomKeyFile } from '../secrets/key-files.js';
import { ChannelFunding } from '../stellar/channel-funding.js';
import { oneAtATime, type AcrossInstances } from '../stellar/one-at-a-time.js';
import { ChannelPool } from '../stellar/channels.js';
import { oneInstanceAtATime, sharedLeasesFor, type SharedLeases } from '../db/leases.js';
import type { StellarKeys } from '../stellar/keys.js';
import { SorobanRpc, type FetchLike } from '../stellar/rpc.js';
import { Treasury } from '../stellar/treasury.js';
import { MandateAccount } from '../stellar/mandate-account.js';
import { MandateService } from '../mandates/service.js';
import type { PaymentTerms } from '../x402/challenge.js';
import type { PaidProduct } from './products/index.js';
import { PaymentService } from './service.js';

/** CARD_DATA_KEY, or DATA_DIR/keys/card-data.key generated once (mode 0600). */
export function loadCardDataCipher(config: Config, logger: Logger): CardDataCipher {
  if (config.cardDataKey) return new CardDataCipher(config.cardDataKey);
  const { key, created, file } = loadOrCreateRandomKeyFile(config.dataDir, 'card-data', CARD_DATA_KEY_BYTES);
  if (created) logger.info('generated card data key', { file });
  return new CardDataCipher(key);
}

export interface PaymentStack {
  service: PaymentService;
  /** Leases shared with the other instances (PostgreSQL only); close() them at shutdown. */
  leases: SharedLeases | undefined;
  facilitator: Facilitator;
  treasury: Treasury;
  terms: PaymentTerms;
  rpc: SorobanRpc;
  /** Mandates (issue 17), when the keys hold a mandate account. */
  mandates?: MandateService | undefined;
  /** Our channel accounts and what keeps them funded; absent with an external facilitator. */
  channels?: { pool: ChannelPool; funding: ChannelFunding } | undefined;
}

/**
 * Builds everything paid requests need from configuration and keys: the RPC client, the channel
 * pool and our facilitator (or the external one at FACILITATOR_URL), the treasury, and the service.
 */
export function buildPaymentStack(args: {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  keys: StellarKeys;
  rpcUrl: string;
  issuer: CardIssuer;
  cipher: CardDataCipher;
  /** Overrides the RPC transport (tests put faults or the in-process ledger here). */
  rpcFetch?: FetchLike;
  facilitator?: Facilitator;
  /** What is sold (default: every product in payments/products). */
  products?: readonly PaidProduct<any>[];
  sleep?: (ms: number) => Promise<void>;
  /** Where settlement, refund and channel-pool metrics go (the app's, see createApp). */
  metrics?: Metrics;
  /** The shared leases to hold payments and channels under (default: new ones, on PostgreSQL). */
  leases?: SharedLeases;
}): PaymentStack {
  const { config, keys } = args;
  const networkPassphrase = NETWORK_PASSPHRASES[config.stellar.network];
  const rpc = new SorobanRpc(args.rpcUrl, args.rpcFetch ? { fetch: args.rpcFetch } : {});
  const terms: PaymentTerms = {
    network: config.stellar.network,
    asset: config.stellar.usdcContract,
    payTo: keys.treasury.publicKey(),
    maxTimeoutSeconds: config.x402.maxTimeoutSeconds,
  };
  // Several instances may share one PostgreSQL database (and the same channel accounts): what one
  // of them works on, payments and channels, is leased there. One SQLite file has one process.
  const leaseMs = config.database.kind === 'postgres' ? config.database.leaseMs : undefined;
  const leases = args.leases ?? sharedLeasesFor(args.db, {
    ...(leaseMs ? { leaseMs } : {}), onError: (err) => args.logger.error('renewing shared leases failed', { err }) });
  const channels = new ChannelPool(
    keys.channels,
    rpc,
    leases ? { leases, coolDownMs: config.x402.ledgerSeconds * 1000, onError: (err) => args.logger.error('leasing a channel failed', { err }) } : undefined,
  );
  const facilitator =
    args.facilitator ??
    (config.x402.facilitatorUrl
      ? new HttpFacilitator(config.x402.facilitatorUrl)
      : new LocalFacilitator({
          rpc,
          channels,
          networkPassphrase,
          ledgerSeconds: config.x402.ledgerSeconds,
          maxFeeStroops: config.x402.maxFeeStroops,
          feePayer: keys.feePayer,
          protectedAddresses: [keys.treasury.publicKey()],
          pollTimeoutMs: config.settlement.pollTimeoutMs,
          pollIntervalMs: config.settlement.pollIntervalMs,
          clock: args.clock,
          logger: args.logger,
          ...(args.sleep ? { sleep: args.sleep } : {}),
        }));
  const ownChannels = !args.facilitator && !config.x402.facilitatorUrl;
  if (ownChannels) args.metrics?.watchChannelPool(channels);
  // Refunds from the treasury go one at a time across instances (an advisory lock on PostgreSQL).
  const db = args.db;
  const treasury = new Treasury({
    rpc,
    keypair: keys.treasury,
    networkPassphrase,
    asset: terms.asset,
    maxFeeStroops: config.x402.maxFeeStroops,
    ...acrossInstances(db, 'treasury'),
  });
  // The channels are created and topped up from the funding account (the treasury unless
  // CHANNEL_FUNDING_SECRET names another), one funding transaction at a time across instances.
  const funding = new ChannelFunding({
    rpc,
    funding: keys.funding ?? keys.treasury,
    channels: channels.addresses,
    networkPassphrase,
    lowStroops: config.settlement.channelLowStroops,
    topUpStroops: config.settlement.channelTopUpStroops,
    exclusive: keys.funding
      ? oneAtATime(oneInstanceAtATime(db, 'channel-funding'))
      : (work) => treasury.exclusive(work),
    logger: args.logger,
    pollIntervalMs: config.settlement.pollIntervalMs,
  });
  channels.onRelease((address) => funding.noteUsed(address));
  const sleepOpt = args.sleep ? { sleep: args.sleep } : {};
  const mandateAccount = keys.mandate
    ? new MandateAccount({ rpc, keypair: keys.mandate, networkPassphrase, asset: terms.asset, maxFeeStroops: config.x402.maxFeeStroops, ...acrossInstances(db, 'mandate-account') })
    : undefined;
  const mandates = mandateAccount
    ? new MandateService({
        db: args.db,
        clock: args.clock,
        logger: args.logger,
        account: mandateAccount,
        network: config.stellar.network,
        publicBaseUrl: config.publicBaseUrl,
        ledgerSeconds: config.x402.ledgerSeconds,
        pollTimeoutMs: config.settlement.pollTimeoutMs,
        pollIntervalMs: config.settlement.pollIntervalMs,
        ...sleepOpt,
      })
    : undefined;
  const service = new PaymentService({
    db: args.db,
    leases,
    clock: args.clock,
    logger: args.logger,
    terms,
    networkPassphrase,
    facilitator,
    issuer: args.issuer,
    cipher: args.cipher,
    ...(args.products ? { products: args.products } : {}),
    treasury,
    ledger: rpc,
    simulator: rpc,
    maxFeeStroops: config.x402.maxFeeStroops,
    ledgerSeconds: config.x402.ledgerSeconds,
    fulfilMaxAttempts: config.settlement.fulfilMaxAttempts,
    refundPollTimeoutMs: config.settlement.pollTimeoutMs,
    pollIntervalMs: config.settlement.pollIntervalMs,
    ...(args.sleep ? { sleep: args.sleep } : {}),
    ...(args.metrics ? { metrics: args.metrics } : {}),
    ...(mandates && mandateAccount ? { mandates: { service: mandates, account: mandateAccount } } : {}),
  });
  return { service, leases, facilitator, treasury, terms, rpc, mandates, channels: ownChannels ? { pool: channels, funding } : undefined };
}

/**
 * What main runs once the app is built: start-up recovery (every payment a crash left `verified`,
 * `settling`, `settled`, `paid_unfulfilled` or `refunding` is resumed now), then the reconciler
 * every RECONCILE_INTERVAL_MS. Returns a stop function for shutdown.
 */
export async function startPaymentRuntime(
  service: PaymentService,
  config: Config,
  logger: Logger,
): Promise<{ recovered: Record<string, number>; stop(): Promise<void> }> {
  const recovered = await service.reconcile();
  if (Object.keys(recovered).length > 0) logger.warn('start-up recovery resumed unfinished payments', { recovered });
  const reconciler = service.startReconciler(config.settlement.reconcileIntervalMs);
  return { recovered, stop: () => reconciler.stop() };
}

/**
 * Start-up of the channel accounts (issue 18): the missing ones are created from the funding
 * account and the low ones topped up (idempotent: existing channels are reused), the pool starts
 * from the sequence numbers just read, and the balances are checked every CHANNEL_CHECK_SECONDS
 * and shortly after each use. Returns a stop function for shutdown.
 */
export async function prepareChannels(stack: PaymentStack, config: Config, logger: Logger): Promise<{ stop(): Promise<void> }> {
  if (!stack.channels) return { stop: async () => undefined };
  const { pool, funding } = stack.channels;
  const ready = await funding.ensure();
  pool.primeSequences(ready.sequences);
  logger.info('channel accounts ready', { channels: pool.size, created: ready.created, toppedUp: ready.toppedUp });
  funding.start(config.settlement.channelCheckMs);
  return { stop: () => funding.stop() };
}

/** `{ acrossInstances }` for an account several instances send from (PostgreSQL), or nothing. */
function acrossInstances(db: Db, name: string): { acrossInstances?: AcrossInstances } {
  const across = oneInstanceAtATime(db, name);
  return across ? { acrossInstances: across } : {};
}
