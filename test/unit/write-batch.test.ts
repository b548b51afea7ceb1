import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/open.js';
import { WriteBatcher } from '../../src/db/write-batch.js';

let dir: string;
let file: string;
let db: Db;
let other: SqliteDatabase.Database;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'card402-batch-'));
  file = path.join(dir, 'db.sqlite');
  db = openDatabase(file);
  await migrateToLatest(db);
  // A second connection sees only what is committed.
  other = new SqliteDatabase(file, { readonly: true });
});
afterEach(async () => {
  other.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const committedKeys = () => (other.prepare('select key from wallet_auth_replays order by key').all() as Array<{ key: string }>).map((r) => r.key);
const insert = (trx: Db, key: string) => trx.insertInto('wallet_auth_replays').values({ key, expires_at: 1, created_at: 1 }).execute();

describe('WriteBatcher: group commit with one savepoint per write', () => {
  it('writes of one turn share one transaction, and each resolves only once it is committed', async () => {
    const writer = new WriteBatcher(db);
    const seenByOthers: string[][] = [];
    const writes = ['a', 'b', 'c'].map((key) =>
      writer.run(async (trx) => {
        seenByOthers.push(committedKeys());
        await insert(trx, key);
        return key;
      }),
    );
    await expect(Promise.all(writes)).resolves.toEqual(['a', 'b', 'c']);
    // While the third write ran, the first two were written but not yet committed: one transaction.
    expect(seenByOthers).toEqual([[], [], []]);
    expect(committedKeys()).toEqual(['a', 'b', 'c']);
  });

  it('a write that throws is rolled back alone and rejects alone', async () => {
    const writer = new WriteBatcher(db);
    const a = writer.run((trx) => insert(trx, 'a'));
    const b = writer.run(async (trx) => {
      await insert(trx, 'b');
      throw new Error('b changed its mind');
    });
    const duplicate = writer.run((trx) => insert(trx, 'a')); // unique key taken by `a` in this very batch
    const c = writer.run((trx) => insert(trx, 'c'));
    await expect(a).resolves.toBeDefined();
    await expect(b).rejects.toThrow('b changed its mind');
    await expect(duplicate).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await expect(c).resolves.toBeDefined();
    expect(committedKeys()).toEqual(['a', 'c']);
  });

  it('writes submitted while a batch is committing go into the next batch', async () => {
    const writer = new WriteBatcher(db);
    let late: Promise<unknown> | undefined;
    const first = writer.run(async (trx) => {
      late = writer.run((inner) => insert(inner, 'late'));
      await insert(trx, 'first');
    });
    await first;
    expect(committedKeys()).toEqual(['first']);
    await late;
    expect(committedKeys()).toEqual(['first', 'late']);
  });

  it('when the transaction cannot be opened, every write of the batch rejects and nothing is written', async () => {
    const writer = new WriteBatcher(db);
    await db.destroy();
    const writes = [writer.run((trx) => insert(trx, 'x')), writer.run((trx) => insert(trx, 'y'))];
    for (const write of writes) await expect(write).rejects.toThrow();
    db = openDatabase(file);
    expect(committedKeys()).toEqual([]);
  });
});
