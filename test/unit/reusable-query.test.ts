import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase, migrateToLatest } from '../../src/db/open.js';
import { reusableQuery } from '../../src/db/reusable-query.js';
import type { Database } from '../../src/db/schema.js';

describe('reusableQuery', () => {
  it('binds each call its own values, in the right slots, with constants kept', async () => {
    const db = openDatabase(':memory:');
    await migrateToLatest(db);
    const q = reusableQuery(2, (k: Kysely<Database>, a: string, b: number) =>
      k.selectNoFrom([sql<string>`${a}`.as('a'), sql<number>`${b} + ${7}`.as('b'), sql<string>`${a} || 'x'`.as('c')]),
    );
    expect(await q(db, 'first', 1)).toEqual([{ a: 'first', b: 8, c: 'firstx' }]);
    expect(await q(db, "it's; drop table cards", 2)).toEqual([{ a: "it's; drop table cards", b: 9, c: "it's; drop table cardsx" }]);
    await db.destroy();
  });

  it('refuses a query that splices an argument into the SQL instead of binding it', async () => {
    const db = openDatabase(':memory:');
    const q = reusableQuery(1, (k: Kysely<Database>, a: string) => k.selectNoFrom(sql.raw<string>(`'${a}'`).as('a')));
    await expect(q(db, 'x')).rejects.toThrow(/placeholder reached the SQL/);
    await db.destroy();
  });
});
