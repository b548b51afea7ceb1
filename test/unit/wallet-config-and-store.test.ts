import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { migrateToLatest } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';
import { RECORDED_KEYS_CACHE_SIZE, SqliteReplayStore } from '../../src/wallet-auth/replay-store.js';

describe('wallet and details configuration', () => {
  it('defaults to ASG’s limits and no trusted proxy', () => {
    const config = loadConfig({});
    expect(config.walletAuth).toEqual({ maxSkewSeconds: 300, failuresPerIp: 30, failuresPerWallet: 100, failureWindowSeconds: 60 });
    expect(config.details).toEqual({ noncesPerWindow: 5, windowSeconds: 3600, nonceRetentionSeconds: 86_400, auditRetentionDays: 90 });
    expect(config.trustedProxyHops).toBe(0);
  });

  it.each([
    ['true', 1],
    ['FALSE', 0],
    ['2', 2],
  ])('TRUST_PROXY=%s means %i trusted hops', (value, hops) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustedProxyHops).toBe(hops);
  });

  it.each([
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY'],
    [{ WALLET_AUTH_MAX_SKEW_SECONDS: '0' }, 'WALLET_AUTH_MAX_SKEW_SECONDS'],
    [{ DETAILS_NONCES_PER_WINDOW: '-1' }, 'DETAILS_NONCES_PER_WINDOW'],
    [{ AUTH_FAILURES_PER_IP: 'many' }, 'AUTH_FAILURES_PER_IP'],
    [{ DETAILS_WINDOW_SECONDS: '7200', DETAILS_NONCE_RETENTION_SECONDS: '3600' }, 'DETAILS_NONCE_RETENTION_SECONDS'],
  ])('rejects %o naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});

describe('SqliteReplayStore', () => {
  it('claims a key once until it expires, then forgets it', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    expect(await store.claim('v2:G:n1', 10_000, 1_000)).toBe(true);
    expect(await store.claim('v2:G:n1', 10_000, 2_000)).toBe(false);
    expect(await store.claim('v2:G:n2', 10_000, 2_000)).toBe(true);
    // After expiry (and before any purge) the key may be claimed again.
    expect(await store.claim('v2:G:n1', 20_000, 10_001)).toBe(true);
    expect(await store.claim('v2:G:n1', 20_000, 10_002)).toBe(false);
    // Purges run at most once a minute and drop expired rows.
    await store.claim('v2:G:n3', 200_000, 100_000);
    const keys = (await db.selectFrom('wallet_auth_replays').select('key').orderBy('key').execute()).map((r) => r.key);
    expect(keys).toEqual(['v2:G:n3']);
    await db.destroy();
  });

  const A = '198.51.100.1';
  const B = '203.0.113.9';
  const seen = (key: string, clientIp: string, nowMs: number) => ({ key, clientIp, expiresAtMs: 10_000, nowMs });

  it('remember() then claimV1(): only the first client, within a second of its first sighting; only its first sighting writes', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    await store.remember(seen('v1:raw:G:1', A, 1_000));
    await store.remember(seen('v1:raw:G:1', B, 1_001)); // a read by another client: served, but A stays the first
    expect(await store.claimV1({ ...seen('v1:raw:G:1', B, 1_002), details: false })).toBe(false);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 1_999), details: false })).toBe(true);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 2_000), details: false })).toBe(false);
    // A new store over the same database (a restart) holds it the same way.
    expect(await new SqliteReplayStore(db).claimV1({ ...seen('v1:raw:G:1', A, 2_500), details: false })).toBe(false);
    // Repeats are served from memory: with the row gone behind the store's back, nothing is rewritten.
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember(seen('v1:raw:G:1', A, 3_000));
    expect(await db.selectFrom('wallet_auth_replays').select('key').execute()).toEqual([]);
    // A key this store claimed is known too; a new key is written.
    expect(await store.claimV1({ ...seen('v1:raw:G:2', A, 3_000), details: false })).toBe(true);
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember(seen('v1:raw:G:2', A, 3_001));
    await store.remember(seen('v1:raw:G:3', A, 3_002));
    expect((await db.selectFrom('wallet_auth_replays').select('key').execute()).map((r) => r.key)).toEqual(['v1:raw:G:3']);
    await db.destroy();
  });

  it('claimV1(): one details read per signature; no re-use for a client without an address', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 1_000), details: false })).toBe(true);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 1_100), details: true })).toBe(true);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 1_200), details: true })).toBe(false);
    expect(await store.claimV1({ ...seen('v1:raw:G:1', A, 1_300), details: false })).toBe(true);
    expect(await store.claimV1({ ...seen('v1:raw:G:2', 'unknown', 1_000), details: false })).toBe(true);
    expect(await store.claimV1({ ...seen('v1:raw:G:2', 'unknown', 1_000), details: false })).toBe(false);
    await db.destroy();
  });

  it('remember(): the in-memory set is bounded, and a forgotten key is simply written again', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    // Key 0 first (the oldest, so the one evicted), the rest in concurrent groups: 20,000 one-by-one
    // round trips to a PostgreSQL server take longer than the test's budget on a busy machine.
    await store.remember(seen('v1:raw:G:0', A, 1_000));
    for (let from = 1; from <= RECORDED_KEYS_CACHE_SIZE; from += 100) {
      const keys = Array.from({ length: Math.min(100, RECORDED_KEYS_CACHE_SIZE + 1 - from) }, (_, j) => from + j);
      await Promise.all(keys.map((i) => store.remember(seen(`v1:raw:G:${i}`, A, 1_000))));
    }
    expect((store as unknown as { recorded: Map<string, number> }).recorded.size).toBe(RECORDED_KEYS_CACHE_SIZE);
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember(seen('v1:raw:G:0', A, 1_000)); // evicted first: written again
    await store.remember(seen(`v1:raw:G:${RECORDED_KEYS_CACHE_SIZE}`, A, 1_000)); // still cached: not
    expect((await db.selectFrom('wallet_auth_replays').select('key').execute()).map((r) => r.key)).toEqual(['v1:raw:G:0']);
    expect(await store.claimV1({ ...seen('v1:raw:G:0', B, 2_000), details: false })).toBe(false);
    await db.destroy();
  }, 120_000); // 20,001 writes: on PostgreSQL, round trips to a server on a busy machine

  it('holds under concurrency: of 20 simultaneous claims of one key, one wins', async () => {
    const db = openTestDb();
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('v2:G:n1', 10_000, 1_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const details = await Promise.all(Array.from({ length: 20 }, () => store.claimV1({ ...seen('v1:raw:G:1', A, 1_000), details: true })));
    expect(details.filter(Boolean)).toHaveLength(1);
    await db.destroy();
  });
});
