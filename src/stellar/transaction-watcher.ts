import type { Clock } from '../clock.js';
import type { LedgerWatcher } from './ledger-watcher.js';
import type { TransactionLookup } from './rpc.js';

/** Looks up many transactions at once; every hash gets its lookup or the error it met (SorobanRpc.transactions). */
export type LookupMany = (hashes: string[]) => Promise<Map<string, TransactionLookup | Error>>;

interface Waiter {
  hash: string;
  /** Looked up once the latest ledger is beyond this one; undefined: at the next poll that knows a ledger. */
  after: number | undefined;
  deadlineMs: number;
  resolve: (found: TransactionLookup | Error | 'timeout') => void;
}

/**
 * Every transaction waiting for a ledger to close is looked up in one batch when it closes, instead
 * of each with its own getTransaction: about one RPC call per ledger instead of one per settlement,
 * and every settlement that landed in a ledger learns it in the same event-loop turn. It rides the
 * LedgerWatcher's shared poll and runs only while someone waits; what to do with an answer
 * (NOT_FOUND, errors, the deadline) is the caller's business.
 */
export class TransactionWatcher {
  private readonly waiters = new Set<Waiter>();
  private running = false;

  constructor(private readonly opts: { ledgers: LedgerWatcher; lookup: LookupMany; clock: Clock }) {}

  /**
   * Resolves with the transaction's lookup (or the error the lookup met) once the latest ledger is
   * beyond `after`, or 'timeout' when the deadline passes first.
   */
  lookupBeyond(hash: string, after: number | undefined, deadlineMs: number): Promise<TransactionLookup | Error | 'timeout'> {
    return new Promise((resolve) => {
      this.waiters.add({ hash, after, deadlineMs, resolve });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0) {
        const latest = await this.opts.ledgers.nextPoll();
        const now = this.opts.clock.nowMs();
        const due: Waiter[] = [];
        for (const waiter of this.waiters) {
          if (latest !== undefined && (waiter.after === undefined || latest > waiter.after)) due.push(waiter);
          else if (now >= waiter.deadlineMs) {
            this.waiters.delete(waiter);
            waiter.resolve('timeout');
          }
        }
        if (due.length === 0) continue;
        for (const waiter of due) this.waiters.delete(waiter);
        // One batch at a time: waiters that arrive meanwhile are due at a later poll. A lookup that
        // rejects (SorobanRpc.transactions does not) still answers every waiter, so none hangs.
        const found = await this.opts.lookup(due.map((waiter) => waiter.hash)).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
        for (const waiter of due) {
          waiter.resolve(found instanceof Error ? found : (found.get(waiter.hash) ?? new Error('no lookup for this transaction')));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
