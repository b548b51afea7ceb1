import type { SharedLeases } from '../db/leases.js';

/**
 * Payments being worked on right now (a paid request settling it, or recovery resuming it).
 * Recovery leaves them alone, so one payment is never driven twice at once. In this process a set
 * says so; with several instances on one database (PostgreSQL) a shared lease (`payment:<id>`,
 * src/db/leases.ts) says so to the others too, and lapses if this process dies, so another
 * instance's reconciler takes the payment over. Underneath, the compare-and-set transitions
 * (repository.ts) keep any two workers apart regardless.
 */
export class InFlight {
  private readonly ids = new Set<string>();
  /** The generation of each shared lease held (see SharedLeases.release). */
  private readonly generations = new Map<string, number>();

  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly shared?: SharedLeases) {}

  /** How many payments this process is working on. */
  get size(): number {
    return this.ids.size;
  }

  /** Resolves true once no payment is being worked on here, or false after `timeoutMs` (graceful shutdown). */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.ids.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  /** Whether this process is working on the payment (a cheap check before claim()). */
  has(paymentId: string): boolean {
    return this.ids.has(paymentId);
  }

  /** False when the payment is already being worked on, here or by another instance. */
  async claim(paymentId: string): Promise<boolean> {
    if (this.ids.has(paymentId)) return false;
    this.ids.add(paymentId);
    if (!this.shared) return true;
    try {
      const lease = await this.shared.take(`payment:${paymentId}`);
      if (lease.taken) {
        this.generations.set(paymentId, lease.generation);
        return true;
      }
    } catch (err) {
      this.ids.delete(paymentId);
      throw err;
    }
    this.ids.delete(paymentId);
    return false;
  }

  async release(paymentId: string): Promise<void> {
    this.ids.delete(paymentId);
    if (this.ids.size === 0) for (const waiter of [...this.idleWaiters]) waiter();
    const generation = this.generations.get(paymentId);
    this.generations.delete(paymentId);
    // A release that fails leaves the lease to lapse by itself (it is no longer renewed).
    if (generation !== undefined) await this.shared?.release(`payment:${paymentId}`, generation).catch(() => undefined);
  }
}
