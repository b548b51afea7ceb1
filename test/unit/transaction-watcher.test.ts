import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { LedgerWatcher } from '../../src/stellar/ledger-watcher.js';
import type { TransactionLookup } from '../../src/stellar/rpc.js';
import { TransactionWatcher, type LookupMany } from '../../src/stellar/transaction-watcher.js';

// The watcher over a scripted ledger: `latest` is what each poll reads (an Error: the poll fails),
// and every lookup is recorded; polls follow each other as fast as the event loop allows. Unless
// told otherwise, every transaction looked up has landed in the latest ledger.
function setup(lookup?: LookupMany) {
  const state = { latest: 10 as number | Error, polls: 0, lookups: [] as string[][] };
  const landed: LookupMany = async (hashes) => new Map(hashes.map((hash) => [hash, { status: 'SUCCESS', ledger: state.latest as number }]));
  const clock = new ManualClock(0);
  const ledgers = new LedgerWatcher({
    latestLedger: async () => {
      state.polls += 1;
      if (state.latest instanceof Error) throw state.latest;
      return state.latest;
    },
    intervalMs: 1,
    clock,
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
  });
  const watcher = new TransactionWatcher({
    ledgers,
    clock,
    lookup: (hashes) => {
      state.lookups.push(hashes);
      return (lookup ?? landed)(hashes);
    },
  });
  return { state, clock, watcher };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('TransactionWatcher', () => {
  it('looks up every transaction waiting on a ledger in one call when it closes', async () => {
    const { state, watcher } = setup();
    const waits = ['a', 'b', 'c'].map((hash) => watcher.lookupBeyond(hash, 10, 1_000));
    const later = watcher.lookupBeyond('d', 11, 1_000);
    await tick();
    expect(state.lookups).toEqual([]);
    state.latest = 11;
    expect(await Promise.all(waits)).toEqual(Array(3).fill({ status: 'SUCCESS', ledger: 11 }));
    expect(state.lookups).toEqual([['a', 'b', 'c']]);
    state.latest = 12;
    expect(await later).toEqual({ status: 'SUCCESS', ledger: 12 });
    expect(state.lookups).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('with no ledger to wait beyond, looks at the next poll that knows the latest ledger', async () => {
    const { state, watcher } = setup();
    state.latest = new Error('unreachable');
    const found = watcher.lookupBeyond('a', undefined, 1_000);
    await tick();
    expect(state.lookups).toEqual([]);
    state.latest = 10;
    expect(await found).toEqual({ status: 'SUCCESS', ledger: 10 });
  });

  it("answers 'timeout' at the deadline when no ledger closes, without a lookup", async () => {
    const { state, clock, watcher } = setup();
    const found = watcher.lookupBeyond('a', 10, 1_000);
    await tick();
    clock.advanceMs(1_000);
    expect(await found).toBe('timeout');
    expect(state.lookups).toEqual([]);
  });

  it('hands each waiter its own lookup or error, and an error for all when the lookup itself fails', async () => {
    const answers = new Map<string, TransactionLookup | Error>([
      ['a', { status: 'NOT_FOUND', latestLedger: 11 }],
      ['b', new Error('no answer in the batch')],
    ]);
    let fail = false;
    const { state, watcher } = setup(async () => {
      if (fail) throw new Error('boom');
      return answers;
    });
    state.latest = 11;
    expect(await Promise.all([watcher.lookupBeyond('a', 10, 1_000), watcher.lookupBeyond('b', 10, 1_000), watcher.lookupBeyond('c', 10, 1_000)])).toEqual([
      { status: 'NOT_FOUND', latestLedger: 11 },
      new Error('no answer in the batch'),
      new Error('no lookup for this transaction'),
    ]);
    fail = true;
    expect(await watcher.lookupBeyond('a', 10, 1_000)).toEqual(new Error('boom'));
  });

  it('stops polling when nobody waits', async () => {
    const { state, watcher } = setup();
    state.latest = 11;
    await watcher.lookupBeyond('a', 10, 1_000);
    await tick();
    const polls = state.polls;
    await tick();
    expect(state.polls).toBe(polls);
  });
});
