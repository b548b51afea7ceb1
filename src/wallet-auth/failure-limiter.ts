import { boundedCache, type BoundedCache } from '../cache.js';

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

export class FailureLimiter {
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
