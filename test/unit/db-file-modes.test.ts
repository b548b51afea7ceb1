import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/open.js';
import { createMemoryLogger } from '../../src/logger.js';
import { loadServerConfig, startCard402 } from '../../src/server.js';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.destroy()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-modes-'));
  dirs.push(dir);
  return dir;
}

const modeOf = (target: string) => (statSync(target).mode & 0o777).toString(8);

/** What versions before this one left behind: a 0755 folder and 0644 database, -wal and -shm. */
function olderVersionsFiles(dataDir: string, file: string): SqliteDatabase.Database {
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o755);
  const old = new SqliteDatabase(file);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE leftover (email TEXT); INSERT INTO leftover VALUES (\'ada@example.com\')');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
  return old;
}

describe("database files are private to card402's user", () => {
  it('a new database: folder 0700, .sqlite, -wal and -shm 0600 after a write', async () => {
    const folder = path.join(tempDir(), 'data');
    const file = path.join(folder, 'card402.sqlite');
    const db = openDatabase(file);
    dbs.push(db);
    await migrateToLatest(db); // writes: the -wal and -shm exist from here on

    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(existsSync(f), f).toBe(true);
    expect(modeOf(folder)).toBe('700');
    expect({ db: modeOf(file), wal: modeOf(`${file}-wal`), shm: modeOf(`${file}-shm`) }).toEqual({ db: '600', wal: '600', shm: '600' });
  });

  it('opening a database an older version left readable tightens its files to 0600', async () => {
    const folder = path.join(tempDir(), 'data');
    const file = path.join(folder, 'card402.sqlite');
    const old = olderVersionsFiles(folder, file);
    try {
      const db = openDatabase(file);
      dbs.push(db);
      await migrateToLatest(db);
      expect({ db: modeOf(file), wal: modeOf(`${file}-wal`), shm: modeOf(`${file}-shm`) }).toEqual({ db: '600', wal: '600', shm: '600' });
    } finally {
      old.close();
    }
  });

  it('start-up tightens an older DATA_DIR to 0700 and its database files to 0600, and says so', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const file = path.join(dataDir, 'card402.sqlite');
    const old = olderVersionsFiles(dataDir, file);
    const logger = createMemoryLogger('warn');
    const config = loadServerConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: 'manual', DATA_DIR: dataDir });
    try {
      const running = await startCard402(config, logger);
      await running.close();
    } finally {
      old.close();
    }
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(file)).toBe('600');
    const warnings = logger.lines.map((line) => JSON.parse(line)).filter((r) => r.msg.includes('permissions'));
    expect(warnings.map((w) => [path.basename(w.path), w.from, w.to])).toEqual([
      ['data', '755', '700'],
      ['card402.sqlite', '644', '600'],
      ['card402.sqlite-wal', '644', '600'],
      ['card402.sqlite-shm', '644', '600'],
    ]);
  });
});
