import { sql, type Kysely } from 'kysely';
import type { Db } from './open.js';
import { isUniqueViolation } from './errors.js';
import { ADVISORY_LOCK_CLASS } from './leases.js';
import { isPostgres, isRetryableTransactionError } from './postgres.js';
import type { Database } from './schema.js';

/**
 * How long a PostgreSQL transaction that keeps losing serialization conflicts is run again before
 * the error is given up to the caller. Each round of colliding transactions commits at least one,
 * so N transactions racing for one row need up to N rounds: a time budget, not a count, keeps a burst
 * of N concurrent requests from failing the last ones.
 */
export const SERIALIZABLE_RETRY_MS = 15_000;
const UNIQUE_VIOLATION_RETRIES = 1;

/**
 * Runs `fn` as one check-then-write transaction that nothing else can interleave with.
 *
 * SQLite: `BEGIN IMMEDIATE ... COMMIT` on one reserved connection. Kysely's SQLite driver hands out
 * its single connection under a mutex, so nothing else in this process runs a query until `fn`
 * settles; IMMEDIATE takes SQLite's write lock up front, so another process sharing the file
 * cannot interleave either (it waits up to busy_timeout).
 *
 * PostgreSQL: a SERIALIZABLE transaction on one pooled connection. Other instances and other
 * connections run beside it, and PostgreSQL aborts any transaction whose outcome would differ from
 * some one-at-a-time order (SQLSTATE 40001, or 40P01 for a deadlock); it is then run again, from
 * the start, for up to SERIALIZABLE_RETRY_MS. So `fn` must do nothing but database work through
 * the executor it is given (no sends, no in-memory effects): it may run more than once, and only
 * the run that commits counts.
 *
 * Inside `fn`, use only the executor it is given: using `db` would wait for the held connection
 * forever on SQLite.
 */
export async function immediateTransaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  if (isPostgres(db)) return opts.queueOn === undefined ? serializableTransaction(db, fn) : queuedTransaction(db, opts.queueOn, fn);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

export interface TransactionOptions {
  /**
   * Transactions with the same key (e.g. one card's) run one after another. SQLite has one writer
   * anyway. On PostgreSQL they wait for each other on an advisory lock taken before the transaction
   * begins, so each starts from a snapshot that already holds the previous one's writes: a burst on
   * one card queues instead of failing with serialization conflicts and running again (which, with
   * many at once, could outlast SERIALIZABLE_RETRY_MS). The lock goes with the session if the
   * process dies.
   */
  queueOn?: string;
}

async function queuedTransaction<T>(db: Db, key: string, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    const lock = sql`${ADVISORY_LOCK_CLASS}, hashtext(current_schema() || ':queue:' || ${key})`;
    await sql`select pg_advisory_lock(${lock})`.execute(conn);
    try {
      return await serializableTransaction(conn, fn);
    } finally {
      await sql`select pg_advisory_unlock(${lock})`.execute(conn);
    }
  });
}

async function serializableTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  const deadline = Date.now() + SERIALIZABLE_RETRY_MS;
  let uniqueRetries = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel('serializable').execute(fn);
    } catch (err) {
      // A unique violation can also be a race lost to a concurrent transaction (PostgreSQL reports
      // one instead of a serialization failure when this transaction never read the key): run
      // again, the winner's row is then seen and taken the normal way. A real duplicate repeats, and
      // is given up after the second try.
      const raced = isUniqueViolation(err) && uniqueRetries++ < UNIQUE_VIOLATION_RETRIES;
      if (!(raced || isRetryableTransactionError(err)) || Date.now() >= deadline) throw err;
      // A short random pause, growing with the attempts, so the transactions that collided do not
      // collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
}
