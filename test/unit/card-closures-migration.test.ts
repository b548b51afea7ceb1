import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/db/migrations/index.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/db/open.js';

const dbs: Db[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.destroy()));
});

const BEFORE = '2026-11-30-20-idempotency-keys';
const REBUILD = '2026-11-30-21-card-closures';

const card = (id: string, status: string) => ({
  // Any text: the CHECK is what is under test.
  status: status as 'active',
  id, agent_address: 'GAGENT', owner_address: 'GOWNER', name_on_card: 'Ada', email: 'a@b.c',
  details_revoked: 1, last_four: '4242', details_ciphertext: Buffer.from([1, 2, 3]), provider_ref: `p-${id}`, created_at: 10, updated_at: 20,
});

describe(`migration ${REBUILD}`, () => {
  it('rebuilds cards for the closed status, keeping every row, index and the foreign keys that reference it', async () => {
    const db = openDatabase(':memory:');
    dbs.push(db);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
    await db.insertInto('cards').values([card('c1', 'active'), card('c2', 'frozen')]).execute();
    await db.insertInto('card_ledger_entries').values({ id: 'e1', card_id: 'c1', kind: 'fund', amount_cents: 500, payment_id: null, description: 'x', created_at: 11 }).execute();
    await expect(db.insertInto('cards').values(card('c3', 'closed')).execute()).rejects.toThrow(/CHECK/);
    const before = await db.selectFrom('cards').selectAll().orderBy('id').execute();

    await migrateToLatest(db);
    expect(await db.selectFrom('cards').selectAll().orderBy('id').execute()).toEqual(before);
    await db.insertInto('cards').values(card('c3', 'closed')).execute();
    await expect(db.insertInto('cards').values(card('c4', 'gone')).execute()).rejects.toThrow(/CHECK/);

    // card_ledger_entries still references the (rebuilt) cards table.
    expect(await db.selectFrom('card_ledger_entries').select(['id', 'card_id']).execute()).toEqual([{ id: 'e1', card_id: 'c1' }]);
    await expect(
      db.insertInto('card_ledger_entries').values({ id: 'e2', card_id: 'missing', kind: 'fund', amount_cents: 1, payment_id: null, description: 'x', created_at: 1 }).execute(),
    ).rejects.toThrow(/FOREIGN KEY/);
    await expect(db.deleteFrom('cards').where('id', '=', 'c1').execute()).rejects.toThrow(/FOREIGN KEY/);
    const fks = await sql<{ table: string }>`pragma foreign_key_list(card_ledger_entries)`.execute(db);
    expect(fks.rows.map((r) => r.table)).toEqual(['cards']);
    const indexes = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'cards' and name not like 'sqlite_%' order by name`.execute(db);
    expect(indexes.rows.map((r) => r.name)).toEqual(['cards_agent_idx', 'cards_owner_idx']);
    expect((await sql`pragma foreign_key_check`.execute(db)).rows).toEqual([]);
  });
});
