import type { Clock } from '../clock.js';

/**
 * One shared poll of getLatestLedger for everyone waiting on a ledger to close. Settlements wait
 * here instead of each hammering getTransaction: a transaction can only change state when a ledger
 * closes, so each waiter asks about its transaction once per new ledger. The loop runs only while
 * someone waits.
 */
export class LedgerWatcher {
  private readonly waiters = new Set<{ after: number; deadlineMs: number; resolve: (latest: number | 'timeout') => void }>();
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

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.size > 0) {
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
      }
    } finally {
      this.running = false;
    }
  }
}
