import type { Db } from '../db/open.js';

/**
 * Remembers which signatures (v1 on single-use routes) and request nonces (v2) have been used,
 * until they could no longer pass the timestamp check anyway. Claiming is one SQL statement, so
 * two concurrent requests carrying the same signature cannot both succeed.
 */
export interface ReplayStore {
  /** True when the key was unused (and is now spent); false when it was used before. */
  claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
}

export const REPLAY_PURGE_INTERVAL_MS = 60_000;

export class SqliteReplayStore implements ReplayStore {
  private lastPurgeMs = 0;

  constructor(private readonly db: Db) {}

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    if (nowMs - this.lastPurgeMs >= REPLAY_PURGE_INTERVAL_MS) {
      this.lastPurgeMs = nowMs;
      await this.db.deleteFrom('wallet_auth_replays').where('expires_at', '<', nowMs).execute();
    }
    // A row that has expired but not been purged yet may be reclaimed; a live one may not.
    const result = await this.db
      .insertInto('wallet_auth_replays')
      .values({ key, expires_at: expiresAtMs, created_at: nowMs })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({ expires_at: expiresAtMs, created_at: nowMs })
          .where('wallet_auth_replays.expires_at', '<', nowMs),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }
}
