import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/open.js';
import { FailureLimiter, SharedFailureLimiter } from './failure-limiter.js';
import { isPostgres } from '../db/postgres.js';
import { walletAuth, type WalletEnv } from './middleware.js';
import { SqliteReplayStore } from './replay-store.js';
import { NodeEd25519Verifier, type SignatureVerifier } from './verifier.js';

export interface WalletAuthMiddlewares {
  /** Plain reads: v1 signatures are ASG-compatible bearers within the timestamp window. */
  authRead: MiddlewareHandler<WalletEnv>;
  /**
   * State changes: a v2 nonce once; a v1 signature if never presented, or again from the client
   * that first presented it within a second (ASG's same-second sequences).
   */
  authSingleUse: MiddlewareHandler<WalletEnv>;
  /** Card details: as authSingleUse, and a v1 signature reads details once at most. */
  authDetails: MiddlewareHandler<WalletEnv>;
}

/** Both flavours of wallet auth over one replay store and one set of failure limits. */
export function createWalletAuth(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  verifier?: SignatureVerifier | undefined;
  /** Told the error code of every refused wallet-signed request (the metrics). */
  onFailure?: ((code: string) => void) | undefined;
}): WalletAuthMiddlewares {
  const { walletAuth: settings } = deps.config;
  const windowMs = settings.failureWindowSeconds * 1000;
  const shared = {
    verifier: deps.verifier ?? new NodeEd25519Verifier(),
    replayStore: new SqliteReplayStore(deps.db),
    clock: deps.clock,
    maxSkewSeconds: settings.maxSkewSeconds,
    // Several instances on one PostgreSQL database count failures together; one SQLite process in memory.
    failures: isPostgres(deps.db)
      ? {
          perIp: new SharedFailureLimiter(deps.db, { limit: settings.failuresPerIp, windowMs, scope: 'ip' }),
          perWallet: new SharedFailureLimiter(deps.db, { limit: settings.failuresPerWallet, windowMs, scope: 'wallet' }),
        }
      : {
          perIp: new FailureLimiter({ limit: settings.failuresPerIp, windowMs }),
          perWallet: new FailureLimiter({ limit: settings.failuresPerWallet, windowMs }),
        },
    onFailure: deps.onFailure,
  };
  return {
    authRead: walletAuth({ ...shared, use: 'read' }),
    authSingleUse: walletAuth({ ...shared, use: 'change' }),
    authDetails: walletAuth({ ...shared, use: 'details' }),
  };
}
