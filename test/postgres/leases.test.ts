import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedLeases, withAdvisoryLock } from '../../src/db/leases.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { ChannelPool } from '../../src/stellar/channels.js';
import type { SorobanRpc } from '../../src/stellar/rpc.js';
import { SharedFailureLimiter } from '../../src/wallet-auth/failure-limiter.js';
import { openTestPostgres } from '../helpers/store.js';

// What several instances share through PostgreSQL, with each "instance" a store of its own (its own
// pool, its own holder id) on one schema.
const opened: Db[] = [];
const leaseSets: SharedLeases[] = [];
afterEach(async () => {
  await Promise.all(leaseSets.splice(0).map((l) => l.close()));
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});

async function instances(n: number): Promise<Db[]> {
  const store = openTestPostgres();
  const dbs = [store.db, ...Array.from({ length: n - 1 }, () => store.reopen())];
  opened.push(...dbs);
  await migrateToLatest(dbs[0]!);
  return dbs;
}

function leases(db: Db, opts: ConstructorParameters<typeof SharedLeases>[1] = {}): SharedLeases {
  const l = new SharedLeases(db, opts);
  leaseSets.push(l);
  return l;
}

describe('shared leases', () => {
  it('one holder at a time; free again once released; a dead holder’s lease lapses', async () => {
    const [a, b] = await instances(2);
    let nowMs = 1_000_000;
    const now = () => nowMs;
    const first = leases(a!, { leaseMs: 5_000, now });
    const second = leases(b!, { leaseMs: 5_000, now });
    const taken = await first.take('payment:p1');
    expect(taken).toEqual({ taken: true, generation: 1 });
    expect((await second.take('payment:p1')).taken).toBe(false);
    expect(await second.heldElsewhere('payment:p1')).toBe(true);
    expect((await first.take('payment:p1')).taken).toBe(true); // ours: taken again (generation 2)
    await first.release('payment:p1', 2);
    expect(await second.take('payment:p1')).toEqual({ taken: true, generation: 3 });
    // `second` dies (never renews, never releases): after the lease time, `first` takes over.
    nowMs += 4_999;
    expect((await first.take('payment:p1')).taken).toBe(false);
    nowMs += 1;
    expect(await first.take('payment:p1')).toEqual({ taken: true, generation: 4 });
  });

  it('a release of an older take leaves a newer take of the same holder alone', async () => {
    const [a, b] = await instances(2);
    const mine = leases(a!);
    const other = leases(b!);
    const old = await mine.take('channel:G1');
    const renewed = await mine.take('channel:G1');
    await mine.release('channel:G1', old.generation); // late, stale: no effect
    expect((await other.take('channel:G1')).taken).toBe(false);
    await mine.release('channel:G1', renewed.generation);
    expect((await other.take('channel:G1')).taken).toBe(true);
  });

  it('30 instances racing for one lease: exactly one gets it', async () => {
    const dbs = await instances(3);
    const contenders = Array.from({ length: 30 }, (_, i) => leases(dbs[i % 3]!));
    const results = await Promise.all(contenders.map((l) => l.take('payment:race')));
    expect(results.filter((r) => r.taken)).toHaveLength(1);
  });
});

describe('advisory locks', () => {
  it('one holder at a time across instances; a try that finds it held does not run', async () => {
    const [a, b] = await instances(2);
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = withAdvisoryLock(a!, 'reconciler', async () => (entered(), await holding, 'first'), { wait: false });
    await inside;
    expect(await withAdvisoryLock(b!, 'reconciler', async () => 'second', { wait: false })).toEqual({ ran: false });
    const waiting = withAdvisoryLock(b!, 'reconciler', async () => 'waited', { wait: true });
    release();
    expect(await first).toEqual({ ran: true, value: 'first' });
    expect(await waiting).toEqual({ ran: true, value: 'waited' });
  });

  it('serializes work across instances: no two critical sections overlap', async () => {
    const dbs = await instances(3);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        withAdvisoryLock(
          dbs[i % 3]!,
          'treasury',
          async () => {
            inside += 1;
            most = Math.max(most, inside);
            await new Promise((resolve) => setImmediate(resolve));
            inside -= 1;
          },
          { wait: true },
        ),
      ),
    );
    expect(most).toBe(1);
  });
});

describe('the failed-auth limiter counts every instance’s failures', () => {
  it('failures spread over instances add up to one limit', async () => {
    const dbs = await instances(3);
    const limiters = dbs.map((db) => new SharedFailureLimiter(db, { limit: 5, windowMs: 60_000, scope: 'ip' }));
    for (let i = 0; i < 4; i++) await limiters[i % 3]!.recordFailure('10.0.0.1', 1_000);
    expect(await limiters[2]!.blockedForMs('10.0.0.1', 1_000)).toBe(0);
    await limiters[1]!.recordFailure('10.0.0.1', 2_000);
    for (const limiter of limiters) expect(await limiter.blockedForMs('10.0.0.1', 2_000)).toBe(59_000);
    expect(await limiters[0]!.blockedForMs('10.0.0.2', 2_000)).toBe(0); // another key
    // A new window starts once this one is over.
    expect(await limiters[0]!.blockedForMs('10.0.0.1', 61_000)).toBe(0);
    await limiters[0]!.recordFailure('10.0.0.1', 61_000);
    expect(await limiters[0]!.blockedForMs('10.0.0.1', 61_000)).toBe(0);
  });

  it('concurrent failures are all counted', async () => {
    const dbs = await instances(3);
    const limiters = dbs.map((db) => new SharedFailureLimiter(db, { limit: 30, windowMs: 60_000, scope: 'wallet' }));
    await Promise.all(Array.from({ length: 30 }, (_, i) => limiters[i % 3]!.recordFailure('GWALLET', 5_000)));
    expect(await limiters[0]!.blockedForMs('GWALLET', 5_000)).toBe(60_000);
  });
});

describe('channel pools of several instances over the same channel accounts', () => {
  it('never hand one channel to two instances at once, and reread the sequence after another instance used it', async () => {
    const dbs = await instances(3);
    const keypairs = Array.from({ length: 2 }, () => Keypair.random());
    const sequences = new Map(keypairs.map((k) => [k.publicKey(), 100n]));
    let reads = 0;
    const rpc = {
      accountSequence: async (address: string) => {
        reads += 1;
        return sequences.get(address);
      },
    } as unknown as SorobanRpc;
    const pools = dbs.map((db) => new ChannelPool(keypairs, rpc, { leases: leases(db), coolDownMs: 0 }));
    const inUse = new Set<string>();
    let overlaps = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: 18 }, async (_, i) => {
        const lease = await pools[i % 3]!.acquire();
        if (inUse.has(lease.address)) overlaps += 1;
        inUse.add(lease.address);
        const current = await lease.currentSequence();
        expect(current).toBe(sequences.get(lease.address)); // never a stale number from an earlier holder
        sequences.set(lease.address, current + 1n);
        lease.consumed(current + 1n);
        sent += 1;
        await new Promise((resolve) => setImmediate(resolve));
        inUse.delete(lease.address);
        lease.release();
      }),
    );
    expect(overlaps).toBe(0);
    expect(sent).toBe(18);
    expect(reads).toBeGreaterThan(2); // sequences were reread as channels moved between instances
    expect([...sequences.values()].reduce((a, b) => a + b)).toBe(200n + 18n);
  });
});
