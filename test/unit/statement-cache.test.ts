import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, STATEMENT_CACHE_SIZE } from '../../src/db/open.js';

describe('prepared statement cache', () => {
  it('re-used statements see current data, more distinct queries than the cache holds still work, streaming works', async () => {
    const db = openDatabase(':memory:');
    await migrateToLatest(db);
    const read = () => db.selectFrom('wallet_auth_replays').select('expires_at').where('key', '=', 'k').executeTakeFirst();
    expect(await read()).toBeUndefined();
    await db.insertInto('wallet_auth_replays').values({ key: 'k', expires_at: 1, created_at: 1 }).execute();
    expect(await read()).toEqual({ expires_at: 1 });
    await db.updateTable('wallet_auth_replays').set({ expires_at: 2 }).where('key', '=', 'k').execute();
    expect(await read()).toEqual({ expires_at: 2 });

    for (let i = 0; i < STATEMENT_CACHE_SIZE + 50; i++) {
      const row = await sql<{ n: number }>`select ${sql.lit(i)} as n`.execute(db);
      expect(row.rows[0]?.n).toBe(i);
    }
    const streamed: string[] = [];
    for await (const row of db.selectFrom('wallet_auth_replays').select('key').stream()) streamed.push(row.key);
    expect(streamed).toEqual(['k']);
    expect(await read()).toEqual({ expires_at: 2 });
    await db.destroy();
  });
});
