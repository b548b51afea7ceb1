import type { Clock } from '../clock.js';

/**
 * One shared poll of getLatestLedger for everyone waiting on a ledger to close: a transaction can
 * only change state when a ledger closes, so waiters wait here instead of each asking the RPC. The
 * loop runs only while someone waits.
 */
export class LedgerWatcher {
  private readonly waiters = new Set<{ after: number; deadlineMs: number; resolve: (latest: number | 'timeout') => void }>();
  /** Callers of nextPoll(), told the outcome of the poll under way (or the next) whatever it is. */
  private pollWaiters: Array<(latest: number | undefined) => void> = [];
  private running = false;

  constructor(
    private readonly opts: {
      latestLedger: () => Promise<number>;
      intervalMs: number;
      clock: Clock;
      sleep: (ms: number) => Promise<void>;
      onError?: (err: unknown) => void;
    },
  ) {}

  /** Resolves with the latest ledger once it is beyond `after`, or 'timeout' at the deadline. */
  waitBeyond(after: number, deadlineMs: number): Promise<number | 'timeout'> {
    return new Promise((resolve) => {
      this.waiters.add({ after, deadlineMs, resolve });
      if (!this.running) void this.loop();
    });
  }

  /**
   * Resolves with the latest ledger read by the poll under way (or the next one), or undefined when
   * that poll failed: for a caller that sorts its own waiters by ledger (the TransactionWatcher).
   */
  nextPoll(): Promise<number | undefined> {
    return new Promise((resolve) => {
      this.pollWaiters.push(resolve);
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0 || this.pollWaiters.length > 0) {
        await this.opts.sleep(this.opts.intervalMs);
        let latest: number | undefined;
        try {
          latest = await this.opts.latestLedger();
        } catch (err) {
          this.opts.onError?.(err);
        }
        const now = this.opts.clock.nowMs();
        for (const waiter of [...this.waiters]) {
          if (latest !== undefined && latest > waiter.after) {
            this.waiters.delete(waiter);
            waiter.resolve(latest);
          } else if (now >= waiter.deadlineMs) {
            this.waiters.delete(waiter);
            waiter.resolve('timeout');
          }
        }
        const pollWaiters = this.pollWaiters;
        this.pollWaiters = [];
        for (const resolve of pollWaiters) resolve(latest);
      }
    } finally {
      this.running = false;
    }
  }
}
