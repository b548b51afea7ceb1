import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
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
    const db = openDatabase(':memory:');
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

  it('remember(): a remembered key cannot be claimed, and only its first sighting writes', async () => {
    const db = openDatabase(':memory:');
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    await store.remember('v1:raw:G:1', 10_000, 1_000);
    await store.remember('v1:raw:G:1', 10_000, 1_001); // no error when seen again
    expect(await store.claim('v1:raw:G:1', 10_000, 2_000)).toBe(false);
    // A new store over the same database (a restart) refuses it too.
    expect(await new SqliteReplayStore(db).claim('v1:raw:G:1', 10_000, 2_000)).toBe(false);
    // Repeats are served from memory: with the row gone behind the store's back, nothing is rewritten.
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember('v1:raw:G:1', 10_000, 3_000);
    expect(await db.selectFrom('wallet_auth_replays').select('key').execute()).toEqual([]);
    // A key this store claimed is known too; a new key is written.
    expect(await store.claim('v1:raw:G:2', 10_000, 3_000)).toBe(true);
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember('v1:raw:G:2', 10_000, 3_001);
    await store.remember('v1:raw:G:3', 10_000, 3_002);
    expect((await db.selectFrom('wallet_auth_replays').select('key').execute()).map((r) => r.key)).toEqual(['v1:raw:G:3']);
    await db.destroy();
  });

  it('remember(): the in-memory set is bounded, and a forgotten key is simply written again', async () => {
    const db = openDatabase(':memory:');
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    for (let i = 0; i <= RECORDED_KEYS_CACHE_SIZE; i++) await store.remember(`v1:raw:G:${i}`, 10_000, 1_000);
    expect((store as unknown as { recorded: Map<string, number> }).recorded.size).toBe(RECORDED_KEYS_CACHE_SIZE);
    await db.deleteFrom('wallet_auth_replays').execute();
    await store.remember('v1:raw:G:0', 10_000, 1_000); // evicted first: written again
    await store.remember(`v1:raw:G:${RECORDED_KEYS_CACHE_SIZE}`, 10_000, 1_000); // still cached: not
    expect((await db.selectFrom('wallet_auth_replays').select('key').execute()).map((r) => r.key)).toEqual(['v1:raw:G:0']);
    expect(await store.claim('v1:raw:G:0', 10_000, 2_000)).toBe(false);
    await db.destroy();
  });

  it('holds under concurrency: of 20 simultaneous claims of one key, one wins', async () => {
    const db = openDatabase(':memory:');
    await migrateToLatest(db);
    const store = new SqliteReplayStore(db);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('v1:raw:G:1', 10_000, 1_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    await db.destroy();
  });
});
