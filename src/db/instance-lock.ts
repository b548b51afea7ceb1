import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

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

