import { CompiledQuery, type Kysely } from 'kysely';
import type { Db } from './open.js';
import type { Database } from './schema.js';

// Transaction control is compiled once: `sql\`…\`.execute()` builds and compiles a query on every call.
const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/**
 * Runs `fn` inside `BEGIN IMMEDIATE ... COMMIT` on one reserved connection. Kysely's SQLite driver
 * hands out its single connection under a mutex, so nothing else in this process runs a query until
 * `fn` settles; IMMEDIATE takes SQLite's write lock up front, so another process sharing the file
 * cannot interleave either (it waits up to busy_timeout). Use it for check-then-write sequences.
 * Inside `fn`, use only the executor it is given: using `db` would wait for the held connection forever.
 */
export async function immediateTransaction<T>(db: Db, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await conn.executeQuery(BEGIN_IMMEDIATE);
    try {
      const result = await fn(conn);
      await conn.executeQuery(COMMIT);
      return result;
    } catch (err) {
      await conn.executeQuery(ROLLBACK).catch(() => undefined);
      throw err;
    }
  });
}
