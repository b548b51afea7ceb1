import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from './open.js';
import { isPostgres } from './postgres.js';

/** How long a lease lasts unless its holder renews it (it renews every third of that). */
export const DEFAULT_LEASE_MS = 30_000;

export interface TakenLease {
  taken: boolean;
  /** The lease's generation after this take (one more than before); 0 when not taken. */
  generation: number;
}

/**
 * Leases this process holds on things several card402 instances share (payments being worked
 * on, channel accounts sending), in the `instance_leases` table. A lease is taken only when it is
 * free (expired) or already ours; while held it is renewed every third of its duration, so it
 * outlives any pause of ours but not our death: a process that dies loses its leases within
 * `leaseMs`, and another instance takes over. Times are the wall clock, shared by the instances.
 */
export class SharedLeases {
  /** This process's holder id (unique per start). */
  readonly holder = randomUUID();
  private readonly held = new Set<string>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly opts: { leaseMs?: number; now?: () => number; onError?: (err: unknown) => void } = {},
  ) {}

  private get leaseMs(): number {
    return this.opts.leaseMs ?? DEFAULT_LEASE_MS;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Takes `name` if it is free or ours. */
  async take(name: string): Promise<TakenLease> {
    const nowMs = this.now();
    const row = await this.db
      .insertInto('instance_leases')
      .values({ name, holder: this.holder, expires_at: nowMs + this.leaseMs, generation: 1 })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: sql`excluded.holder`, expires_at: sql`excluded.expires_at`, generation: sql`instance_leases.generation + 1` })
          .where((eb) => eb.or([eb('instance_leases.expires_at', '<=', nowMs), eb('instance_leases.holder', '=', this.holder)])),
      )
      .returning('generation')
      .executeTakeFirst();
    if (!row) return { taken: false, generation: 0 };
    this.held.add(name);
    this.startHeartbeat();
    return { taken: true, generation: row.generation };
  }

  /**
   * Gives back the lease on `name` taken as `generation` (a later take of ours is left alone);
   * free for others after `coolDownMs` (0: at once).
   */
  async release(name: string, generation: number, coolDownMs = 0): Promise<void> {
    this.held.delete(name);
    await this.db
      .updateTable('instance_leases')
      .set({ expires_at: this.now() + coolDownMs })
      .where('name', '=', name)
      .where('holder', '=', this.holder)
      .where('generation', '=', generation)
      .execute();
  }

  /** Whether another live process holds `name` now. */
  async heldElsewhere(name: string): Promise<boolean> {
    const row = await this.db.selectFrom('instance_leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    return row !== undefined && row.holder !== this.holder && row.expires_at > this.now();
  }

  /** Extends every lease still held by us. */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const names = [...this.held];
    for (let i = 0; i < names.length; i += 500) {
      await this.db
        .updateTable('instance_leases')
        .set({ expires_at: this.now() + this.leaseMs })
        .where('holder', '=', this.holder)
        .where('name', 'in', names.slice(i, i + 500))
        .execute();
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew()).catch((err: unknown) => this.opts.onError?.(err));
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** Stops renewing and releases every lease held (graceful shutdown). */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.renewing;
    const names = [...this.held];
    this.held.clear();
    if (names.length === 0) return;
    await this.db.updateTable('instance_leases').set({ expires_at: this.now() }).where('holder', '=', this.holder).where('name', 'in', names).execute();
  }
}

/** The shared leases a store needs: on PostgreSQL (several instances) yes; on SQLite (one process per file) none. */
export function sharedLeasesFor(db: Db, opts?: ConstructorParameters<typeof SharedLeases>[1]): SharedLeases | undefined {
  return isPostgres(db) ? new SharedLeases(db, opts) : undefined;
}

/**
 * Runs `fn` while holding a PostgreSQL advisory lock named `name` (per schema), on a connection
 * reserved for it; the lock goes with that session, so a process that dies drops it. With
 * `wait: false` returns `{ ran: false }` at once when another instance holds it. On SQLite, where
 * one process owns the file (instance-lock.ts), `fn` simply runs.
 */
export async function withAdvisoryLock<T>(db: Db, name: string, fn: () => Promise<T>, opts: { wait: boolean }): Promise<{ ran: true; value: T } | { ran: false }> {
  if (!isPostgres(db)) return { ran: true, value: await fn() };
  return db.connection().execute(async (conn) => {
    const key = sql`${ADVISORY_LOCK_CLASS}, hashtext(current_schema() || ':' || ${name})`;
    if (opts.wait) {
      await sql`select pg_advisory_lock(${key})`.execute(conn);
    } else {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
      if (!rows[0]?.locked) return { ran: false } as const;
    }
    try {
      return { ran: true, value: await fn() } as const;
    } finally {
      await sql`select pg_advisory_unlock(${key})`.execute(conn);
    }
  });
}

/**
 * Work named `name` on one instance at a time (withAdvisoryLock, waiting for it), as a wrapper;
 * undefined on SQLite, where one process owns the file (instance-lock.ts).
 */
export function oneInstanceAtATime(db: Db, name: string): (<T>(work: () => Promise<T>) => Promise<T>) | undefined {
  if (!isPostgres(db)) return undefined;
  return async <T>(work: () => Promise<T>): Promise<T> => {
    const outcome = await withAdvisoryLock(db, name, work, { wait: true });
    if (!outcome.ran) throw new Error(`the ${name} lock was not taken`); // never: it waits
    return outcome.value;
  };
}

/** The first half of card402's two-part advisory lock keys (any fixed 32-bit number). */
export const ADVISORY_LOCK_CLASS = 4020;
