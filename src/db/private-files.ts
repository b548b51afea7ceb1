import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The database holds emails, names and payer addresses: only card402's own user may read it.
 * Folders card402 creates are 0700, database files 0600 (SQLite gives its -wal, -shm and -journal
 * files the mode of the database file, so creating that one 0600 covers them all).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** A folder or file whose group/other permissions were dropped; modes in octal, e.g. "644" → "600". */
export interface Tightened {
  path: string;
  from: string;
  to: string;
}

/** The database file and the files SQLite keeps beside it. */
export function sqliteFilesOf(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}

/**
 * Drops the permission bits `allowed` does not have from `target` if it exists, belongs to this
 * process's user and has any of them (as folders and files made by versions before this one do).
 */
function tightenIfOurs(target: string, allowed: number): Tightened | undefined {
  let stats;
  try {
    stats = statSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const uid = process.getuid?.();
  if (uid === undefined || stats.uid !== uid) return undefined; // not ours (or no POSIX owners): leave it
  const before = stats.mode & 0o777;
  if ((before & ~allowed) === 0) return undefined;
  chmodSync(target, before & allowed);
  return { path: target, from: before.toString(8), to: (before & allowed).toString(8) };
}

/**
 * Makes the database file private before SQLite opens it: its folder is created 0700 if missing,
 * the file is created 0600 if missing (an empty file is an empty SQLite database), and an existing
 * database file, -wal, -shm or -journal of ours is tightened to 0600. An existing folder is left
 * as it is (it may be the user's); `preparePrivateDataDir` handles card402's own DATA_DIR.
 */
export function preparePrivateDatabaseFile(file: string): Tightened[] {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: PRIVATE_DIR_MODE });
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE)); // creates it 0600; an existing file is left as it is here
  return sqliteFilesOf(file).flatMap((target) => tightenIfOurs(target, PRIVATE_FILE_MODE) ?? []);
}

/**
 * card402's own folder (DATA_DIR: database, keys, ledger state): created 0700 if missing, and
 * tightened to 0700 if it exists, is ours and others can enter it (versions before this one
 * created it 0755).
 */
export function preparePrivateDataDir(dir: string): Tightened[] {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return [tightenIfOurs(dir, PRIVATE_DIR_MODE) ?? []].flat();
}
