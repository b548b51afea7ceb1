import { sql, type Kysely } from 'kysely';
import { boundedCache } from '../cache.js';
import type { Db } from '../db/open.js';
import { reusableStatement } from '../db/reusable-query.js';
import type { Database } from '../db/schema.js';
import { UNKNOWN_IP } from '../http/kernel/client-ip.js';

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
   * A v1 signature on a single-use route: true when it was never presented, or when `clientIp` is
   * the client that first presented it, less than SAME_CLIENT_REUSE_MS ago, and (for `details`) it
   * has read no details yet. Otherwise false, and nothing changes.
   */
  claimV1(presentation: V1Presentation): Promise<boolean>;
  /**
   * Records that a v1 signature has been presented on a plain read, and by whom if it is the
   * first time (also across a restart), so that a single-use route holds it to that client and
   * second.
   */
  remember(presentation: Omit<V1Presentation, 'details'>): Promise<void>;
}

export interface V1Presentation {
  key: string;
  /** The client address (kernel client-ip, honouring TRUST_PROXY). */
  clientIp: string;
  /** A details read: each v1 signature reads details once at most. */
  details: boolean;
  expiresAtMs: number;
  nowMs: number;
}

/**
 * How long after a v1 signature is first presented its client may present it again on a
 * single-use route: ASG's clients sign `asgcard-auth:<unix seconds>` once per second and re-use it
 * for every call in that second (Ed25519 is deterministic, so re-signing gives the same bytes).
 */
export const SAME_CLIENT_REUSE_MS = 1000;

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

// One statement, so concurrent presentations of one signature are decided one at a time. A live
// row is updated (details counted) only when the presenter is its first client within its second
// and, for details, no details were read with it; an expired one is taken over like a new key.
// The in-process client address ('unknown', no socket) is never "the same client".
const expired = sql<boolean>`wallet_auth_replays.expires_at < excluded.created_at`;
const claimV1Statement = reusableStatement(
  5,
  (db: Kysely<Database>, key: string, expiresAtMs: number, nowMs: number, clientIp: string, detailsReads: number) =>
    db
      .insertInto('wallet_auth_replays')
      .values({ key, expires_at: expiresAtMs, created_at: nowMs, client_ip: clientIp, details_reads: detailsReads })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({
            expires_at: sql`excluded.expires_at`,
            created_at: sql`CASE WHEN ${expired} THEN excluded.created_at ELSE wallet_auth_replays.created_at END`,
            client_ip: sql`CASE WHEN ${expired} THEN excluded.client_ip ELSE wallet_auth_replays.client_ip END`,
            details_reads: sql`CASE WHEN ${expired} THEN excluded.details_reads ELSE wallet_auth_replays.details_reads + excluded.details_reads END`,
          })
          .where(
            sql<boolean>`${expired} OR (
              excluded.client_ip <> ${UNKNOWN_IP}
              AND wallet_auth_replays.client_ip = excluded.client_ip
              AND excluded.created_at - wallet_auth_replays.created_at < ${SAME_CLIENT_REUSE_MS}
              AND (excluded.details_reads = 0 OR wallet_auth_replays.details_reads = 0))`,
          ),
      ),
);

export class SqliteReplayStore implements ReplayStore {
  private lastPurgeMs = 0;
  /** Keys known to be live in wallet_auth_replays (written or claimed by this process) → expiry. */
  private readonly recorded = boundedCache<string, number>(RECORDED_KEYS_CACHE_SIZE);

  constructor(private readonly db: Db) {}

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    await this.purgeNowAndThen(nowMs);
    const result = await claimStatement(this.db, key, expiresAtMs, nowMs);
    // Claimed or not, a live row for the key now exists.
    this.markRecorded(key, expiresAtMs);
    return Number(result.numAffectedRows ?? 0n) === 1;
  }

  async claimV1(p: V1Presentation): Promise<boolean> {
    await this.purgeNowAndThen(p.nowMs);
    const result = await claimV1Statement(this.db, p.key, p.expiresAtMs, p.nowMs, p.clientIp, p.details ? 1 : 0);
    this.markRecorded(p.key, p.expiresAtMs);
    return Number(result.numAffectedRows ?? 0n) === 1;
  }

  async remember(p: Omit<V1Presentation, 'details'>): Promise<void> {
    const known = this.recorded.get(p.key);
    if (known !== undefined && known >= p.nowMs) return; // already in the table: no write
    await this.claimV1({ ...p, details: false }); // inserts, or leaves an existing live row's client as it is
  }

  private async purgeNowAndThen(nowMs: number): Promise<void> {
    if (nowMs - this.lastPurgeMs >= REPLAY_PURGE_INTERVAL_MS) {
      this.lastPurgeMs = nowMs;
      await this.db.deleteFrom('wallet_auth_replays').where('expires_at', '<', nowMs).execute();
      const expired: string[] = [];
      this.recorded.forEach((expiry, k) => {
        if (expiry < nowMs) expired.push(k);
      });
      for (const k of expired) this.recorded.delete(k);
    }
  }

  private markRecorded(key: string, expiresAtMs: number): void {
    this.recorded.set(key, expiresAtMs);
  }
}
