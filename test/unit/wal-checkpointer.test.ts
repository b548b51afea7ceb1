import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/open.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, DEFAULT_AUTOCHECKPOINT_PAGES, startWalCheckpointer } from '../../src/db/wal-checkpointer.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let file: string;
let db: Db;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'card402-ckpt-'));
  file = path.join(dir, 'db.sqlite');
  db = openDatabase(file);
  await migrateToLatest(db);
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db); // the schema in the file itself
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const autocheckpoint = async () => Number((await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0]!.wal_autocheckpoint);
const insertRows = async (from: number, n: number) => {
  for (let i = from; i < from + n; i++) await db.insertInto('wallet_auth_replays').values({ key: `k${i}`, expires_at: i, created_at: i }).execute();
};
/** The rows the database file holds by itself, without its WAL (a copy of the file alone). */
const rowsInMainFile = () => {
  const copy = path.join(dir, `copy-${Math.random()}.sqlite`);
  copyFileSync(file, copy);
  const other = new SqliteDatabase(copy, { readonly: true });
  try {
    return (other.prepare('select count(*) as n from wallet_auth_replays').get() as { n: number }).n;
  } finally {
    other.close();
  }
};

describe('WAL checkpoints on a worker thread', () => {
  it('copies committed writes into the database file from the worker, and the app connection checkpoints only as a backstop', async () => {
    const checkpointer = await startWalCheckpointer(db, file, { intervalMs: 60_000 });
    try {
      expect(await autocheckpoint()).toBe(BACKSTOP_AUTOCHECKPOINT_PAGES);
      await insertRows(0, 50);
      expect(rowsInMainFile()).toBe(0); // committed, in the WAL only
      const pass = await checkpointer.checkpointNow();
      expect(pass.busy).toBe(0);
      expect(pass.log).toBeGreaterThan(0);
      expect(pass.checkpointed).toBe(pass.log);
      expect(rowsInMainFile()).toBe(50);
    } finally {
      await checkpointer.stop();
    }
    expect(await autocheckpoint()).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);
  });

  it('checks on its own, every interval', async () => {
    const checkpointer = await startWalCheckpointer(db, file, { intervalMs: 5 });
    try {
      await insertRows(0, 20);
      await expect.poll(rowsInMainFile, { timeout: 10_000, interval: 20 }).toBe(20);
    } finally {
      await checkpointer.stop();
    }
  });

  it('gets the WAL restarted under a steady stream of writes, instead of letting it grow to the backstop', async () => {
    // Each insert commits at once and the next follows after one turn of the event loop, as under
    // load: commits land while the worker's passes run, so the WAL seldom restarts by itself (on a
    // quiet machine, never: it grows to the 10,000-page backstop, ~40 MB).
    const restartAtPages = 200;
    const checkpointer = await startWalCheckpointer(db, file, { intervalMs: 2, restartAtPages });
    /** The WAL header's checkpoint sequence number: SQLite adds one at each restart. */
    const restarts = () => {
      const header = readFileSync(`${file}-wal`).subarray(0, 16);
      return header.length < 16 ? 0 : header.readUInt32BE(12);
    };
    try {
      await checkpointer.checkpointNow(); // the worker is up
      const restartsBefore = restarts();
      let largest = 0;
      for (let i = 0; i < 4_000; i++) {
        await db.insertInto('wallet_auth_replays').values({ key: `k${i}`, expires_at: i, created_at: i }).execute();
        await new Promise((resolve) => setImmediate(resolve));
        if (i % 50 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
      }
      // 4,000 commits of a few pages each: over 8,000 pages (4 KiB) went through the WAL.
      expect(restarts() - restartsBefore).toBeGreaterThanOrEqual(2);
      expect(largest).toBeLessThan(4_000 * 4096);
      expect(await db.selectFrom('wallet_auth_replays').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 4_000 });
    } finally {
      await checkpointer.stop();
    }
  });

  it('loses no committed write when the process is killed while checkpoints run', async () => {
    await db.destroy();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/wal-crash-writer.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = -1;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))));
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        if (lines.length > 0) acknowledged = Number(lines.at(-1));
        // Enough rows for several checkpoints (2 KB each, 1 ms between passes), then a kill mid-stream.
        if (acknowledged >= 3000 && !child.killed) child.kill('SIGKILL');
      });
    });
    db = openDatabase(file);
    const rows = await db.selectFrom('wallet_auth_replays').select('expires_at').orderBy('expires_at').execute();
    // Every write acknowledged before the kill is there (a later one may be too: it committed, unprinted).
    expect(rows.length).toBeGreaterThanOrEqual(acknowledged + 1);
    expect(rows.slice(0, acknowledged + 1).map((r) => r.expires_at)).toEqual(Array.from({ length: acknowledged + 1 }, (_, i) => i));
  });
});
