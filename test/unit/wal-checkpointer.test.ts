import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
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
    // The same writes with restarts at 200 pages and with none before the backstop: each insert
    // commits at once and the next follows after one turn of the event loop, as under load, so a
    // commit always lands while a pass of the worker runs and the WAL never restarts by itself.
    const largestWal = async (restartAtPages: number) => {
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
      const checkpointer = await startWalCheckpointer(db, file, { intervalMs: 2, restartAtPages });
      try {
        await checkpointer.checkpointNow(); // the worker is up
        let largest = 0;
        for (let i = 0; i < 3_000; i++) {
          await db.insertInto('wallet_auth_replays').values({ key: `${restartAtPages}-${i}`, expires_at: i, created_at: i }).execute();
          await new Promise((resolve) => setImmediate(resolve));
          if (i % 50 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
        }
        return largest;
      } finally {
        await checkpointer.stop();
      }
    };
    const withoutRestarts = await largestWal(BACKSTOP_AUTOCHECKPOINT_PAGES);
    const withRestarts = await largestWal(200);
    expect(withoutRestarts).toBeGreaterThan(3_000 * 4096); // every commit's pages, kept
    expect(withRestarts).toBeLessThan(withoutRestarts / 3);
    expect(await db.selectFrom('wallet_auth_replays').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 6_000 });
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
