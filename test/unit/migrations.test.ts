import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/db/migrations/index.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/open.js';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.destroy()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-db-'));
  dirs.push(dir);
  return path.join(dir, 'nested', 'card402.sqlite');
}

function open(file: string): Db {
  const db = openDatabase(file);
  dbs.push(db);
  return db;
}

describe('migrations', () => {
  it('are named by date and listed in order', () => {
    const names = Object.keys(migrations);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^\d{4}-\d{2}-\d{2}-\d{2}-[a-z0-9-]+$/);
    expect([...names].sort()).toEqual(names);
  });

  it('build a fresh file database with every table, WAL and foreign keys on', async () => {
    const db = open(tempFile());
    const result = await migrateToLatest(db);
    expect(result.results?.map((r) => r.status)).toEqual(Object.keys(migrations).map(() => 'Success'));
    const tables = await db.introspection.getTables();
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['cards', 'card_ledger_entries']));
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
    const temp = await sql<{ temp_store: number }>`pragma temp_store`.execute(db);
    expect(temp.rows[0]?.temp_store).toBe(2); // MEMORY: statement journals never go to /var/tmp
  });

  it('are a no-op when re-run, also after reopening the file', async () => {
    const file = tempFile();
    const first = open(file);
    await migrateToLatest(first);
    await first
      .insertInto('cards')
      .values({
        id: 'c1', agent_address: 'GA', owner_address: 'GA', name_on_card: 'A', email: 'a@b.c', status: 'active',
        details_revoked: 0, last_four: '1234', details_ciphertext: Buffer.from([1]), provider_ref: 'p', created_at: 1, updated_at: 1,
      })
      .execute();
    const again = await migrateToLatest(first);
    expect(again.results).toEqual([]);
    await first.destroy();
    dbs.splice(dbs.indexOf(first), 1);

    const reopened = open(file);
    const rerun = await migrateToLatest(reopened);
    expect(rerun.results).toEqual([]);
    const rows = await reopened.selectFrom('cards').select('id').execute();
    expect(rows).toEqual([{ id: 'c1' }]);
  });

  it('enforce foreign keys', async () => {
    const db = open(':memory:');
    await migrateToLatest(db);
    await expect(
      db
        .insertInto('card_ledger_entries')
        .values({ id: 'e1', card_id: 'missing', kind: 'fund', amount_cents: 1, payment_id: null, description: 'x', created_at: 1 })
        .execute(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });
});
