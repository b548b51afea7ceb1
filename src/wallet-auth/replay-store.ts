import type { Kysely } from 'kysely';
import { boundedCache } from '../cache.js';
import type { Db } from '../db/open.js';
import { reusableStatement } from '../db/reusable-query.js';
import type { Database } from '../db/schema.js';

/**
 * Remembers which signatures (v1) and request nonces (v2) have been used, until they could no
 * longer pass the timestamp check anyway. Claiming is one SQL statement, so two concurrent
 * requests carrying the same signature cannot both succeed. A key always comes with the same
 * expiry (it is derived from the signed timestamp), which the in-memory cache below relies on.
 */
export interface ReplayStore {
  /** True when the key was unused (and is now spent); false when it was used before. */
  claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  /**
   * Records that the key has been presented, whether or not it had been before, so that any
   * later claim of it fails (also after a restart). Used for v1 signatures on plain reads.
   */
  remember(key: string, expiresAtMs: number, nowMs: number): Promise<void>;
}

export const REPLAY_PURGE_INTERVAL_MS = 60_000;
/**
 * How many keys a process remembers having written, to skip the write when the same v1 signature
 * is presented on a read again. Only a cache: a key that drops out costs one more (idempotent)
 * INSERT on its next sighting, never a missed replay.
 */
export const RECORDED_KEYS_CACHE_SIZE = 20_000;

// A row that has expired but not been purged yet may be reclaimed; a live one may not. Compiled
// once (see reusableQuery): this runs on every single-use signed request.
const claimStatement = reusableStatement(3, (db: Kysely<Database>, key: string, expiresAtMs: number, nowMs: number) =>
  db
    .insertInto('wallet_auth_replays')
    .values({ key, expires_at: expiresAtMs, created_at: nowMs })
    .onConflict((oc) => oc.column('key').doUpdateSet({ expires_at: expiresAtMs, created_at: nowMs }).where('wallet_auth_replays.expires_at', '<', nowMs)),
);

export class SqliteReplayStore implements ReplayStore {
  private lastPurgeMs = 0;
  /** Keys known to be live in wallet_auth_replays (written or claimed by this process) → expiry. */
  private readonly recorded = boundedCache<string, number>(RECORDED_KEYS_CACHE_SIZE);

  constructor(private readonly db: Db) {}

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    if (nowMs - this.lastPurgeMs >= REPLAY_PURGE_INTERVAL_MS) {
      this.lastPurgeMs = nowMs;
      await this.db.deleteFrom('wallet_auth_replays').where('expires_at', '<', nowMs).execute();
      const expired: string[] = [];
      this.recorded.forEach((expiry, k) => {
        if (expiry < nowMs) expired.push(k);
      });
      for (const k of expired) this.recorded.delete(k);
    }
    const result = await claimStatement(this.db, key, expiresAtMs, nowMs);
    // Claimed or not, a live row for the key now exists.
    this.markRecorded(key, expiresAtMs);
    return Number(result.numAffectedRows ?? 0n) === 1;
  }

  async remember(key: string, expiresAtMs: number, nowMs: number): Promise<void> {
    const known = this.recorded.get(key);
    if (known !== undefined && known >= nowMs) return; // already in the table: no write
    await this.claim(key, expiresAtMs, nowMs); // inserts, or leaves an existing live row as it is
  }

  private markRecorded(key: string, expiresAtMs: number): void {
    this.recorded.set(key, expiresAtMs);
  }
}
