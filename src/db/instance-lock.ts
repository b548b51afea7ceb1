import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';

export class InstanceLockError extends Error {
  override name = 'InstanceLockError';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One card402 process per database. Payment claims and the treasury's refund lock live in the
 * process, so two processes on one SQLite file could both resume (and refund) the same payment.
 * The lock file holds the owner's pid; a lock left by a process that no longer runs (SIGKILL,
 * power loss) is taken over.
 */
/** Locks this process holds, so a lock file naming our own pid can be told apart from one left by an
 * earlier process that happened to have the same pid (pid 1 in every container start). */
const heldHere = new Set<string>();

function heldByAnother(owner: number, lockFile: string): boolean {
  if (!Number.isInteger(owner) || owner <= 0) return false;
  if (owner === process.pid) return heldHere.has(lockFile);
  return processAlive(owner);
}

export function acquireInstanceLock(lockFilePath: string): { release(): void } {
  const lockFile = path.resolve(lockFilePath);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(lockFile);
      return {
        release: () => {
          heldHere.delete(lockFile);
          try {
            unlinkSync(lockFile);
          } catch {
            // already gone: nothing to release
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (heldByAnother(owner, lockFile)) {
        throw new InstanceLockError(
          `another card402 process (pid ${owner}) is using this database; stop it first (if none runs, delete ${lockFile})`,
        );
      }
      unlinkSync(lockFile); // stale: its process is gone
    }
  }
  throw new InstanceLockError(`could not take the instance lock ${lockFile}`);
}

/** The advisory lock key of "a card402 process runs on this database" (any fixed 64-bit number). */
export const POSTGRES_INSTANCE_LOCK_KEY = 4020_0001;

/**
 * The same guarantee on PostgreSQL: a session-level advisory lock, held on a connection of its own
 * for as long as the process runs. PostgreSQL drops it when that session ends, so a process that
 * died (kill -9, lost host) leaves nothing behind to clear by hand. The key is per schema, so
 * databases shared by schemas (the tests) lock independently.
 */
export async function acquirePostgresInstanceLock(db: Kysely<any>): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let signal!: (outcome: { ok: true } | { ok: false; err: unknown }) => void;
  const taken = new Promise<{ ok: true } | { ok: false; err: unknown }>((resolve) => (signal = resolve));
  const session = db
    .connection()
    .execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${POSTGRES_INSTANCE_LOCK_KEY}, hashtext(current_schema())) as locked`.execute(conn);
      if (!rows[0]?.locked) {
        signal({ ok: false, err: new InstanceLockError('another card402 process is using this PostgreSQL database (schema); stop it first') });
        return;
      }
      signal({ ok: true });
      await released;
      await sql`select pg_advisory_unlock(${POSTGRES_INSTANCE_LOCK_KEY}, hashtext(current_schema()))`.execute(conn);
    })
    .catch((err: unknown) => signal({ ok: false, err }));
  const outcome = await taken;
  if (!outcome.ok) throw outcome.err;
  return {
    release: async () => {
      release();
      await session;
    },
  };
}
