import path from 'node:path';
import { z } from 'zod';
import type { DatabaseLocation } from './db/open.js';
import { NETWORKS, USDC_CONTRACTS } from './protocol/networks.js';

/** Thrown when the environment holds a bad value; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** One line per bad variable, naming it (never its value). */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const optionalString = z.string().min(1).optional();
const httpUrl = z.url({ protocol: /^https?$/ });

/** The most channel accounts one deployment runs (CHANNEL_ACCOUNTS). */
export const MAX_CHANNEL_ACCOUNTS = 1024;

/** A 32-byte secret as 64 hex digits or base64 (CARD_DATA_KEY, the redeem token secrets). */
const secret32 = z
  .string()
  .refine((v) => /^[0-9a-fA-F]{64}$/.test(v) || Buffer.from(v, 'base64').length === 32, 'expected 32 bytes as 64 hex digits or base64')
  .optional();

/** Every variable card402 reads, as it appears in the environment (documented in .env.example). */
const envSchema = z.object({
  PORT: port.default(4020),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_PATH: optionalString,
  // --- PostgreSQL (issue #18): set to run on PostgreSQL instead of the SQLite file ---
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' }).optional(),
  // The reconciler and treasury locks each hold a connection while their work uses others.
  DATABASE_POOL_SIZE: positiveInt.min(4, 'must be at least 4 (two are held by the reconciler and treasury locks)').max(1000).default(10),
  INSTANCE_LEASE_SECONDS: positiveInt.max(3600).default(30),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  BODY_LIMIT_BYTES: positiveInt.max(10 * 1024 * 1024).default(64 * 1024),
  PUBLIC_BASE_URL: httpUrl.optional(),
  SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  STELLAR_NETWORK: z.enum(NETWORKS).default('stellar:testnet'),
  STELLAR_RPC_URL: httpUrl.optional(),
  USDC_CONTRACT: z.string().regex(/^C[A-Z2-7]{55}$/, 'expected a Stellar contract id (C...)').optional(),
  TREASURY_SECRET: z.string().regex(/^S[A-Z2-7]{55}$/, 'expected a Stellar secret seed (S...)').optional(),
  CARD_DATA_KEY: secret32,
  // Wallet-signed requests and card details (DESIGN §6-7).
  WALLET_AUTH_MAX_SKEW_SECONDS: positiveInt.max(3600).default(300),
  AUTH_FAILURES_PER_IP: positiveInt.default(30),
  AUTH_FAILURES_PER_WALLET: positiveInt.default(100),
  AUTH_FAILURE_WINDOW_SECONDS: positiveInt.max(86_400).default(60),
  DETAILS_NONCES_PER_WINDOW: positiveInt.default(5),
  DETAILS_WINDOW_SECONDS: positiveInt.max(30 * 86_400).default(3600),
  DETAILS_NONCE_RETENTION_SECONDS: positiveInt.max(365 * 86_400).default(86_400),
  DETAILS_AUDIT_RETENTION_DAYS: positiveInt.max(3650).default(90),
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d)$/i, 'expected false, true (one proxy) or the number of trusted proxy hops (0-9)')
    .transform((v) => (v.toLowerCase() === 'true' ? 1 : v.toLowerCase() === 'false' ? 0 : Number(v)))
    .default(0),
  // --- Card sessions (scoped redeem tokens) and secrets sessions (issue #14) ---
  CARD_SESSION_TOKEN_SECRET: secret32,
  CARD_SESSION_TOKEN_PREVIOUS_SECRET: secret32,
  CARD_SESSION_SWEEP_INTERVAL_SECONDS: positiveInt.max(86_400).default(60),
  SECRETS_SESSION_TTL_SECONDS: positiveInt.max(3600).default(120),
  // --- x402 payments and settlement ---
  X402_MAX_TIMEOUT_SECONDS: positiveInt.max(3600).default(60),
  STELLAR_LEDGER_SECONDS: positiveInt.max(60).default(5),
  STELLAR_MAX_FEE_STROOPS: positiveInt.default(1_000_000),
  CHANNEL_SECRETS: z
    .string()
    .regex(/^S[A-Z2-7]{55}(,S[A-Z2-7]{55})*$/, 'expected comma-separated Stellar secret seeds (S...,S...)')
    .optional(),
  // --- Channel accounts at scale (issue #18): how many, where they come from, their XLM ---
  CHANNEL_ACCOUNTS: positiveInt.max(MAX_CHANNEL_ACCOUNTS).optional(),
  // The older name of CHANNEL_ACCOUNTS.
  CHANNEL_COUNT: positiveInt.max(MAX_CHANNEL_ACCOUNTS).optional(),
  CHANNEL_SEED: secret32,
  CHANNEL_FUNDING_SECRET: z.string().regex(/^S[A-Z2-7]{55}$/, 'expected a Stellar secret seed (S...)').optional(),
  CHANNEL_LOW_XLM: positiveInt.max(10_000).default(2),
  CHANNEL_TOP_UP_XLM: positiveInt.max(100_000).default(5),
  CHANNEL_CHECK_SECONDS: positiveInt.max(86_400).default(60),
  FEE_PAYER_SECRET: z.string().regex(/^S[A-Z2-7]{55}$/, 'expected a Stellar secret seed (S...)').optional(),
  FACILITATOR_URL: httpUrl.optional(),
  SETTLE_POLL_TIMEOUT_MS: positiveInt.default(30_000),
  SETTLE_POLL_INTERVAL_MS: positiveInt.default(500),
  RECONCILE_INTERVAL_MS: positiveInt.default(15_000),
  FULFIL_MAX_ATTEMPTS: positiveInt.max(100).default(5),
  ISSUER_CAPACITY_USD: z.coerce.number().int().min(0).default(1_000_000),
  // --- Cards that spend (issue #13) ---
  AUTHORIZATION_HOLD_SECONDS: positiveInt.max(31 * 86_400).default(7 * 86_400),
  AUTHORIZATION_SWEEP_SECONDS: positiveInt.max(86_400).default(60),
  SANDBOX_CARD_FAILURES_PER_IP: positiveInt.default(10),
  SANDBOX_CARD_FAILURE_WINDOW_SECONDS: positiveInt.max(86_400).default(600),
  ISSUER_AUTH_SECRET: z.string().min(32, 'must be at least 32 characters (a random secret shared with the issuer)').optional(),
  ISSUER_AUTH_MAX_SKEW_SECONDS: positiveInt.max(3600).default(300),
  // --- Payment requests (issue 16): owner-approved purchases ---
  PAYMENT_REQUEST_TTL_SECONDS: positiveInt.max(30 * 86_400).default(86_400),
  // --- Integration surface: our facilitator for other x402 servers (issue 19) ---
  FACILITATOR_SERVE: z.enum(['true', 'false']).default('false'),
  FACILITATOR_API_KEYS: z
    .string()
    .regex(/^[^,\s]{16,}(,[^,\s]{16,})*$/, 'expected comma-separated tokens of at least 16 characters, no spaces')
    .optional(),
  // --- Integration surface: Prometheus metrics (issue 19) ---
  METRICS_SERVE: z.enum(['true', 'false']).default('false'),
  // --- Integration surface: signed webhooks (issue 19) ---
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: z.enum(['true', 'false']).default('false'),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(60_000).default(10_000),
  WEBHOOK_RETRY_BASE_SECONDS: positiveInt.max(3600).default(30),
  WEBHOOK_DISPATCH_INTERVAL_MS: positiveInt.default(1_000),
  WEBHOOK_MAX_ENDPOINTS_PER_WALLET: positiveInt.max(100).default(10),
  // At least 4 days: longer than the 3-day retry window (src/webhooks/retention.ts).
  WEBHOOK_RETENTION_DAYS: positiveInt.min(4, 'must be at least 4 (days): history must outlive the 3-day retry window').max(3650).default(30),
  METRICS_TOKEN: z.string().regex(/^[^\s]{16,}$/, 'expected a token of at least 16 characters, no spaces').optional(),
  // Mandates (issue 17): the spender owners approve, and the source of every mandate transaction.
  MANDATE_SECRET: z.string().regex(/^S[A-Z2-7]{55}$/, 'expected a Stellar secret seed (S...)').optional(),
})
  .refine((env) => !(env.FACILITATOR_SERVE === 'true' && env.FACILITATOR_URL), {
    path: ['FACILITATOR_SERVE'],
    message: 'cannot be true with FACILITATOR_URL set: card402 serves only its own facilitator (its channel pool), never relays another',
  })
  .refine((env) => !(env.CHANNEL_ACCOUNTS && env.CHANNEL_COUNT && env.CHANNEL_ACCOUNTS !== env.CHANNEL_COUNT), {
    path: ['CHANNEL_COUNT'],
    message: 'differs from CHANNEL_ACCOUNTS (CHANNEL_COUNT is its older name): set only CHANNEL_ACCOUNTS',
  })
  .refine((env) => !(env.CHANNEL_SEED && env.CHANNEL_SECRETS), {
    path: ['CHANNEL_SEED'],
    message: 'cannot be set with CHANNEL_SECRETS: channels are either listed or derived from the seed',
  })
  .refine((env) => !(env.CHANNEL_SECRETS && (env.CHANNEL_ACCOUNTS ?? env.CHANNEL_COUNT) && env.CHANNEL_SECRETS.split(',').length !== (env.CHANNEL_ACCOUNTS ?? env.CHANNEL_COUNT)), {
    path: ['CHANNEL_ACCOUNTS'],
    message: 'differs from the number of CHANNEL_SECRETS (leave it unset with CHANNEL_SECRETS)',
  })
  .refine((env) => !env.CHANNEL_SECRETS || env.CHANNEL_SECRETS.split(',').length <= MAX_CHANNEL_ACCOUNTS, {
    path: ['CHANNEL_SECRETS'],
    message: `lists more than ${MAX_CHANNEL_ACCOUNTS} channel accounts`,
  })
  .refine((env) => !env.CARD_SESSION_TOKEN_PREVIOUS_SECRET || env.CARD_SESSION_TOKEN_SECRET, {
    path: ['CARD_SESSION_TOKEN_PREVIOUS_SECRET'],
    message: 'needs CARD_SESSION_TOKEN_SECRET (the new secret) beside it',
  })
  .refine((env) => env.DETAILS_NONCE_RETENTION_SECONDS >= env.DETAILS_WINDOW_SECONDS, {
  path: ['DETAILS_NONCE_RETENTION_SECONDS'],
  message: 'must be at least DETAILS_WINDOW_SECONDS (spent nonces are counted over that window)',
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof envSchema>) {
  const dataDir = path.resolve(env.DATA_DIR);
  return {
    port: env.PORT,
    host: env.HOST,
    dataDir,
    databasePath: env.DATABASE_PATH ?? path.join(dataDir, 'card402.sqlite'),
    /** Where the store lives: the SQLite file (default) or a PostgreSQL server (DATABASE_URL). */
    database: (env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, leaseMs: env.INSTANCE_LEASE_SECONDS * 1000 }
      : { kind: 'sqlite', path: env.DATABASE_PATH ?? path.join(dataDir, 'card402.sqlite') }) as DatabaseLocation,
    logLevel: env.LOG_LEVEL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    stellar: {
      network: env.STELLAR_NETWORK,
      /** Undefined means: run the embedded local ledger and use it. */
      rpcUrl: env.STELLAR_RPC_URL,
      usdcContract: env.USDC_CONTRACT ?? USDC_CONTRACTS[env.STELLAR_NETWORK],
      treasurySecret: env.TREASURY_SECRET,
    },
    /** Undefined means: use (or generate) the key file in DATA_DIR/keys. */
    cardDataKey: env.CARD_DATA_KEY ? decodeKey(env.CARD_DATA_KEY) : undefined,
    /** Number of reverse proxies whose X-Forwarded-For entries are trusted (0: use the socket address). */
    trustedProxyHops: env.TRUST_PROXY,
    walletAuth: {
      maxSkewSeconds: env.WALLET_AUTH_MAX_SKEW_SECONDS,
      failuresPerIp: env.AUTH_FAILURES_PER_IP,
      failuresPerWallet: env.AUTH_FAILURES_PER_WALLET,
      failureWindowSeconds: env.AUTH_FAILURE_WINDOW_SECONDS,
    },
    details: {
      noncesPerWindow: env.DETAILS_NONCES_PER_WINDOW,
      windowSeconds: env.DETAILS_WINDOW_SECONDS,
      nonceRetentionSeconds: env.DETAILS_NONCE_RETENTION_SECONDS,
      /** How long details access audit rows (and refusal counters) are kept. */
      auditRetentionDays: env.DETAILS_AUDIT_RETENTION_DAYS,
    },
    cardSessions: {
      /** Signs redeem tokens. Undefined means: use (or generate) DATA_DIR/keys/card-session-token.key. */
      tokenSecret: env.CARD_SESSION_TOKEN_SECRET ? decodeKey(env.CARD_SESSION_TOKEN_SECRET) : undefined,
      /** Verifies only (after a rotation), until the tokens it signed expire. */
      previousTokenSecret: env.CARD_SESSION_TOKEN_PREVIOUS_SECRET ? decodeKey(env.CARD_SESSION_TOKEN_PREVIOUS_SECRET) : undefined,
      sweepIntervalMs: env.CARD_SESSION_SWEEP_INTERVAL_SECONDS * 1000,
      secretsSessionTtlMs: env.SECRETS_SESSION_TTL_SECONDS * 1000,
    },
    x402: {
      maxTimeoutSeconds: env.X402_MAX_TIMEOUT_SECONDS,
      /** Estimated ledger close time, for the auth-entry expiration window. */
      ledgerSeconds: env.STELLAR_LEDGER_SECONDS,
      maxFeeStroops: BigInt(env.STELLAR_MAX_FEE_STROOPS),
      /** Undefined means: use the built-in facilitator. */
      facilitatorUrl: env.FACILITATOR_URL?.replace(/\/+$/, ''),
    },
    settlement: {
      /** Listed channels (CHANNEL_SECRETS); undefined: derived from CHANNEL_SEED, or key files in DATA_DIR/keys. */
      channelSecrets: env.CHANNEL_SECRETS?.split(','),
      channelCount: env.CHANNEL_SECRETS?.split(',').length ?? env.CHANNEL_ACCOUNTS ?? env.CHANNEL_COUNT ?? 4,
      /** Channel i's key is derived from this seed (the same on every instance); undefined: key files. */
      channelSeed: env.CHANNEL_SEED ? decodeKey(env.CHANNEL_SEED) : undefined,
      /** Creates and tops up the channels; undefined: the treasury does. */
      channelFundingSecret: env.CHANNEL_FUNDING_SECRET,
      /** A channel below this many stroops of XLM is topped up... */
      channelLowStroops: BigInt(env.CHANNEL_LOW_XLM) * 10_000_000n,
      /** ...with this many (also what a new channel starts with). */
      channelTopUpStroops: BigInt(env.CHANNEL_TOP_UP_XLM) * 10_000_000n,
      channelCheckMs: env.CHANNEL_CHECK_SECONDS * 1000,
      feePayerSecret: env.FEE_PAYER_SECRET,
      pollTimeoutMs: env.SETTLE_POLL_TIMEOUT_MS,
      pollIntervalMs: env.SETTLE_POLL_INTERVAL_MS,
      reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
      fulfilMaxAttempts: env.FULFIL_MAX_ATTEMPTS,
    },
    issuer: {
      capacityCents: env.ISSUER_CAPACITY_USD * 100,
    },
    /** Our facilitator served to other x402 resource servers under /facilitator (off by default). */
    facilitatorApi: {
      serve: env.FACILITATOR_SERVE === 'true',
      /** Bearer tokens a caller must present; empty: anyone may call it. Never logged. */
      apiKeys: env.FACILITATOR_API_KEYS?.split(',') ?? [],
    },
    /** Signed webhooks: delivery settings (src/webhooks). */
    webhooks: {
      /** Deliver to loopback/private addresses and plain http (local development only). */
      allowPrivateAddresses: env.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true',
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_SECONDS * 1000,
      dispatchIntervalMs: env.WEBHOOK_DISPATCH_INTERVAL_MS,
      maxEndpointsPerWallet: env.WEBHOOK_MAX_ENDPOINTS_PER_WALLET,
      /** Delivered and failed events (with their deliveries and attempts) are deleted after this many days. */
      retentionDays: env.WEBHOOK_RETENTION_DAYS,
    },
    /** GET /metrics (Prometheus), off by default; behind a bearer token when one is set. */
    metrics: {
      serve: env.METRICS_SERVE === 'true',
      token: env.METRICS_TOKEN,
    },
    paymentRequests: {
      /** How long an owner may answer a payment request. */
      ttlSeconds: env.PAYMENT_REQUEST_TTL_SECONDS,
    },
    /** Cards that spend: holds, the sandbox card network, and the real issuer's authorization endpoint. */
    spending: {
      /** How long an authorization's hold lasts uncaptured before it is released. */
      holdSeconds: env.AUTHORIZATION_HOLD_SECONDS,
      /** How often expired holds are swept (they also count as released as soon as they expire). */
      sweepSeconds: env.AUTHORIZATION_SWEEP_SECONDS,
      /** Sandbox network: card data that matches no card, per client IP per window, before 429. */
      cardFailuresPerIp: env.SANDBOX_CARD_FAILURES_PER_IP,
      cardFailureWindowSeconds: env.SANDBOX_CARD_FAILURE_WINDOW_SECONDS,
      /** Shared HMAC-SHA256 secret of POST /issuer/authorizations; unset: the endpoint is not served. */
      issuerSecret: env.ISSUER_AUTH_SECRET,
      issuerMaxSkewSeconds: env.ISSUER_AUTH_MAX_SKEW_SECONDS,
    },
    mandates: {
      /** Undefined means: use (or generate) DATA_DIR/keys/mandate.secret. */
      accountSecret: env.MANDATE_SECRET,
    },
  };
}

function decodeKey(text: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
}

/** Pure: reads only the given environment. Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  return toConfig(parsed.data);
}
