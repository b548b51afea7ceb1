import { sql, type Kysely } from 'kysely';
import { boundedCache, type BoundedCache } from '../cache.js';
import type { Database } from '../db/schema.js';

/**
 * Counts failed authentication attempts per key (client IP or claimed wallet) in fixed windows.
 * Once a key reaches its limit, further requests from it are refused before any signature is
 * verified, so a flood of bad signatures costs a map lookup, not an Ed25519 verification.
 * Memory is bounded: at most `maxKeys` keys are tracked, the least recently used evicted first.
 */
export interface FailureLimiterOptions {
  limit: number;
  windowMs: number;
  maxKeys?: number;
}

interface Window {
  startMs: number;
  failures: number;
}

export const DEFAULT_MAX_TRACKED_KEYS = 100_000;

export class FailureLimiter implements FailureCounter {
  private readonly windows: BoundedCache<string, Window>;

  constructor(private readonly opts: FailureLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(opts.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.windows = boundedCache(opts.maxKeys ?? DEFAULT_MAX_TRACKED_KEYS);
  }

  /** Milliseconds until `key` may try again; 0 when it is not blocked. */
  blockedForMs(key: string, nowMs: number): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const endsMs = window.startMs + this.opts.windowMs;
    if (nowMs >= endsMs) {
      this.windows.delete(key);
      return 0;
    }
    return window.failures >= this.opts.limit ? endsMs - nowMs : 0;
  }

  recordFailure(key: string, nowMs: number): void {
    const window = this.windows.get(key);
    if (window && nowMs < window.startMs + this.opts.windowMs) {
      window.failures += 1;
      return;
    }
    this.windows.set(key, { startMs: nowMs, failures: 1 });
  }
}

/** What the wallet-auth middleware counts failures with: in memory, or shared through the database. */
export interface FailureCounter {
  blockedForMs(key: string, nowMs: number): number | Promise<number>;
  recordFailure(key: string, nowMs: number): void | Promise<void>;
}

/**
 * The same fixed windows, counted in the database (`auth_failures`) so that every card402
 * instance on it sees every failure: a client cannot multiply its allowance by the number of
 * instances behind the load balancer. One atomic upsert per failure, one read per check. `scope`
 * keeps the per-IP and per-wallet counts apart.
 */
export class SharedFailureLimiter implements FailureCounter {
  private lastPruneMs = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: FailureLimiterOptions & { scope: string },
  ) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new RangeError('limit must be a positive integer');
    if (!(opts.windowMs > 0)) throw new RangeError('windowMs must be positive');
  }

  async blockedForMs(key: string, nowMs: number): Promise<number> {
    const row = await this.db.selectFrom('auth_failures').select(['window_start', 'failures']).where('key', '=', `${this.opts.scope}:${key}`).executeTakeFirst();
    if (!row) return 0;
    const endsMs = row.window_start + this.opts.windowMs;
    if (nowMs >= endsMs) return 0;
    return row.failures >= this.opts.limit ? endsMs - nowMs : 0;
  }

  async recordFailure(key: string, nowMs: number): Promise<void> {
    const windowOver = sql<boolean>`auth_failures.window_start + ${this.opts.windowMs} <= ${nowMs}`;
    await this.db
      .insertInto('auth_failures')
      .values({ key: `${this.opts.scope}:${key}`, window_start: nowMs, failures: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          window_start: sql`CASE WHEN ${windowOver} THEN excluded.window_start ELSE auth_failures.window_start END`,
          failures: sql`CASE WHEN ${windowOver} THEN 1 ELSE auth_failures.failures + 1 END`,
        }),
      )
      .execute();
    if (nowMs - this.lastPruneMs >= this.opts.windowMs) {
      this.lastPruneMs = nowMs;
      await this.prune(nowMs);
    }
  }

  /** Drops windows that ended before `beforeMs` (the table holds one row per recently failing key). */
  async prune(beforeMs: number): Promise<void> {
    await this.db.deleteFrom('auth_failures').where('window_start', '<', beforeMs - this.opts.windowMs).execute();
  }
}
