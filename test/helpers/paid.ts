import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Keypair } from '@stellar/stellar-sdk';
import { createApp } from '../../src/app.js';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { RedeemTokens } from '../../src/cards/sessions/redeem-tokens.js';
import type { CardIssuer } from '../../src/cards/issuer.js';
import { SandboxIssuer } from '../../src/cards/sandbox-issuer.js';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import type { PaymentOverrides } from './payments.js';
import { payAndFetch } from './pay-and-fetch.js';
import { systemClock, type Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { sql } from 'kysely';
import { openTestDb, openTestPostgres, testDialect } from './store.js';
import type { Facilitator } from '../../src/facilitator/types.js';
import { createLocalnet, serveLocalnet, LOCALNET_PASSPHRASE, type Localnet, type LocalnetServer } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import type { PaidProduct } from '../../src/payments/products/index.js';
import { buildPaymentStack, type PaymentStack } from '../../src/payments/wiring.js';
import { sharedLeasesFor } from '../../src/db/leases.js';
import { prepareLocalKeys, type StellarKeys } from '../../src/stellar/keys.js';
import type { FetchLike } from '../../src/stellar/rpc.js';
import { Metrics } from '../../src/metrics/index.js';

export const USDC = 10_000_000n;

export interface PaidHarness {
  localnet: Localnet;
  ledgerServer: LocalnetServer;
  config: Config;
  db: Db;
  keys: StellarKeys;
  issuer: SandboxIssuer;
  /** The card data cipher the app uses (and derives its other keys from). */
  cipher: CardDataCipher;
  stack: PaymentStack;
  app: ReturnType<typeof createApp>;
  /** Base URL of the app served over real HTTP. */
  baseUrl: string;
  logs: string[];
  dataDir: string;
  /** A new agent with XLM and `usdc` atomic units of USDC on the ledger. */
  agent(usdc?: bigint): Keypair;
  /** Request → 402 → pay → repeat, over real HTTP, as an agent would. */
  pay(
    agent: Keypair,
    route: string,
    body: unknown,
    opts?: { headers?: Record<string, string>; overrides?: PaymentOverrides; legacyHeader?: boolean },
  ): Promise<{ response: Response; payment?: import('../../src/protocol/x402.js').PaymentPayload }>;
  /** A second app instance over the same db, ledger and keys: "the process after a restart". */
  restart(opts?: { rpcFetch?: FetchLike; issuer?: CardIssuer }): PaidHarness['stack'];
  /**
   * The process running `stack` (the first one by default) dies, as far as the database can tell:
   * on PostgreSQL every session of its own connection pool ends (pg_terminate_backend), and with
   * them the advisory locks and transactions it held, as when a real process is killed; its
   * pending work never resumes on them. On SQLite, where locks live in the process, nothing to do.
   */
  crash(stack?: PaidHarness['stack']): Promise<void>;
  close(): Promise<void>;
}

export async function makePaidHarness(
  opts: {
    ledgerMs?: number | 'manual';
    /** The local ledger's clock (ms) and how long it remembers transactions and events. */
    ledgerClock?: () => number;
    historySeconds?: number;
    env?: Record<string, string>;
    rpcFetch?: (inner: FetchLike) => FetchLike;
    /** Replaces our built-in facilitator (e.g. with an external one over HTTP). */
    facilitator?: (ctx: { rpcUrl: string; localnet: Localnet }) => Promise<Facilitator>;
    /** Wraps the sandbox issuer the first app uses (e.g. to make it hang like a crashed process). */
    issuer?: (sandbox: SandboxIssuer) => CardIssuer;
    dbFile?: string;
    /** What the server sells (default: every product in src/payments/products). */
    products?: readonly PaidProduct<any>[];
    /** The app's clock (default: the system's); the ledger keeps its own. */
    clock?: Clock;
  } = {},
): Promise<PaidHarness> {
  const localnet = createLocalnet({
    ledgerMs: opts.ledgerMs ?? 50,
    ...(opts.ledgerClock ? { startedAtMs: opts.ledgerClock } : {}),
    ...(opts.historySeconds !== undefined ? { historySeconds: opts.historySeconds } : {}),
  });
  localnet.start();
  const ledgerServer = await serveLocalnet(localnet, { port: 0 });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-paid-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    PUBLIC_BASE_URL: 'http://card402.test',
    CHANNEL_COUNT: '2',
    SETTLE_POLL_INTERVAL_MS: '20',
    SETTLE_POLL_TIMEOUT_MS: '5000',
    // Ledgers close every few tens of ms here: a 1 s estimate gives payers ~60 ledgers of validity
    // (instead of 12 at the 5 s default), so a busy test machine cannot expire a payment mid-test.
    STELLAR_LEDGER_SECONDS: '1',
    LOG_LEVEL: 'debug',
    ...opts.env,
  });
  const logger = createMemoryLogger('debug');
  const keys = prepareLocalKeys(config, localnet, logger);
  // On PostgreSQL each payment stack below is a process of its own, with its own connection pool
  // (crash() ends its sessions); `db` serves the app, the issuer and the test's own reads.
  const pgStore = testDialect() === 'postgres' ? openTestPostgres() : undefined;
  const db = pgStore?.db ?? openTestDb(opts.dbFile);
  await migrateToLatest(db);
  const processPools = new Map<PaymentStack, { db: Db; applicationName: string; crashed: boolean }>();
  const cipher = new CardDataCipher(randomBytes(32));
  const clock = opts.clock ?? systemClock;
  const issuer = new SandboxIssuer({ db, clock, cipher, capacityCents: config.issuer.capacityCents });
  const baseFetch: FetchLike = (input, init) => fetch(input, init);
  const metrics = new Metrics();
  const facilitator = opts.facilitator ? await opts.facilitator({ rpcUrl: ledgerServer.rpcUrl, localnet }) : undefined;
  // A restart is the same card402 instance coming back: it holds the shared leases (PostgreSQL)
  // its crashed predecessor held, as a new process would once they lapsed. They are kept over `db`,
  // which outlives the crashes.
  const leases = sharedLeasesFor(db, { onError: (err) => logger.error('renewing shared leases failed', { err }) });
  const build = (rpcFetch?: FetchLike, stackIssuer: CardIssuer = issuer) => {
    const applicationName = `card402-test-${randomBytes(6).toString('hex')}`;
    const stackDb = pgStore ? pgStore.reopen({ applicationName }) : db;
    const built = buildPaymentStack({
      ...(leases ? { leases } : {}),
      config,
      db: stackDb,
      clock,
      logger,
      keys,
      rpcUrl: ledgerServer.rpcUrl,
      issuer: stackIssuer,
      cipher,
      ...(rpcFetch ? { rpcFetch } : opts.rpcFetch ? { rpcFetch: opts.rpcFetch(baseFetch) } : {}),
      ...(facilitator ? { facilitator } : {}),
      ...(opts.products ? { products: opts.products } : {}),
      metrics,
    });
    if (pgStore) processPools.set(built, { db: stackDb, applicationName, crashed: false });
    return built;
  };
  const stack = build(undefined, opts.issuer ? opts.issuer(issuer) : issuer);
  const app = createApp({ config, db, clock, logger, cardCipher: cipher, redeemTokens: new RedeemTokens({ current: randomBytes(32) }), paymentTerms: stack.terms, payments: stack.service, mandates: stack.mandates, facilitator: stack.facilitator, metrics });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    localnet,
    ledgerServer,
    config,
    db,
    keys,
    issuer,
    cipher,
    stack,
    app,
    baseUrl,
    logs: logger.lines,
    dataDir,
    agent(usdc = 1_000n * USDC) {
      const kp = Keypair.random();
      localnet.fundXlm(kp.publicKey());
      localnet.mintUsdc(kp.publicKey(), usdc);
      return kp;
    },
    pay(agent, route, body, payOpts = {}) {
      return payAndFetch(
        (url, init) => fetch(url, init),
        baseUrl + route,
        { method: 'POST', headers: { 'content-type': 'application/json', ...payOpts.headers }, body: JSON.stringify(body) },
        {
          keypair: agent,
          networkPassphrase: LOCALNET_PASSPHRASE,
          rpc: ledgerServer.rpcUrl,
          ledgerSeconds: config.x402.ledgerSeconds,
          ...(payOpts.overrides ? { overrides: payOpts.overrides } : {}),
          ...(payOpts.legacyHeader ? { legacyHeader: true } : {}),
        },
      );
    },
    restart(restartOpts = {}) {
      return build(restartOpts.rpcFetch, restartOpts.issuer ?? issuer);
    },
    async crash(crashed = stack) {
      const pool = processPools.get(crashed);
      if (!pool) return;
      pool.crashed = true;
      // Waits (up to 10 s each) until every session is gone, its locks released.
      const { rows } = await sql<{ ended: boolean }>`
        select pg_terminate_backend(pid, 10000) as ended from pg_stat_activity where application_name = ${pool.applicationName}`.execute(db);
      if (!rows.every((r) => r.ended)) throw new Error('a crashed process kept a database session');
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Requests left hanging on purpose (simulated crashes) must not keep the server open.
        if ('closeAllConnections' in server) (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      });
      await ledgerServer.close();
      await localnet.stop();
      await leases?.close();
      // A crashed process's pool is left as a dead process leaves its memory: its pending work holds
      // connections that are never given back (their sessions already ended).
      for (const pool of processPools.values()) if (!pool.crashed) await pool.db.destroy();
      await db.destroy();
    },
  };
}

/**
 * Nothing lost: every payment ended fulfilled (card linked), refunded (refund landed) or failed
 * (its settlement never landed), and the treasury holds exactly what fulfilled payments paid.
 */
export async function expectNothingLost(h: PaidHarness, treasuryBefore: bigint): Promise<void> {
  const { expect } = await import('vitest');
  const payments = await h.db.selectFrom('payments').selectAll().execute();
  let kept = 0n;
  for (const p of payments) {
    expect(['fulfilled', 'refunded', 'failed'], `payment ${p.id} is ${p.status}`).toContain(p.status);
    if (p.status === 'fulfilled') {
      if (p.kind === 'create' || p.kind === 'fund') expect(p.card_id).not.toBeNull();
      expect((await h.stack.rpc.transaction(p.settle_tx_hash!)).status).toBe('SUCCESS');
      if (p.load_cents > 0) {
        const entry = await h.db.selectFrom('card_ledger_entries').selectAll().where('payment_id', '=', p.id).executeTakeFirst();
        expect(entry?.amount_cents).toBe(p.load_cents);
      }
      kept += BigInt(p.amount_atomic);
    }
    if (p.status === 'refunded') {
      if (p.settle_tx_hash && p.last_error !== 'settled_elsewhere_after_failure') {
        expect((await h.stack.rpc.transaction(p.settle_tx_hash)).status).toBe('SUCCESS');
      }
      expect((await h.stack.rpc.transaction(p.refund_tx_hash!)).status).toBe('SUCCESS');
    }
    if (p.status === 'failed' && p.settle_tx_hash) {
      expect((await h.stack.rpc.transaction(p.settle_tx_hash)).status).not.toBe('SUCCESS');
    }
  }
  expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasuryBefore + kept);
}

/** GET /payments/:id signed by `wallet` (v2), over real HTTP. */
export async function fetchPayment(h: PaidHarness, wallet: Keypair, paymentId: string): Promise<Response> {
  const route = `/payments/${paymentId}`;
  return fetch(h.baseUrl + route, { headers: walletAuthHeadersV2(wallet, { method: 'GET', url: route }) });
}
