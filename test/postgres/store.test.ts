import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../src/db/errors.js';
import { ADVISORY_LOCK_CLASS, withAdvisoryLock } from '../../src/db/leases.js';
import { migrateToLatest, openDatabase, openStore, type Db } from '../../src/db/open.js';
import { isPostgres, parseInteger } from '../../src/db/postgres.js';
import { reusableQuery } from '../../src/db/reusable-query.js';
import type { Database } from '../../src/db/schema.js';
import { immediateTransaction } from '../../src/db/transaction.js';
import { WriteBatcher } from '../../src/db/write-batch.js';
import { createTestDatabase, openTestPostgres } from '../helpers/store.js';

// PostgreSQL-only behaviour of the store layer (this file runs only in the `postgres` project).
const opened: Db[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});

async function freshStore(): Promise<Db> {
  const { db } = openTestPostgres();
  opened.push(db);
  await migrateToLatest(db);
  return db;
}

async function columnTypes(db: Db, table: string): Promise<Record<string, string>> {
  const { rows } = await sql<{ column_name: string; data_type: string }>`
    select column_name, data_type from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
}

const card = (id: string, nowMs: number) => ({
  id,
  agent_address: 'GAGENT',
  owner_address: 'GAGENT',
  name_on_card: 'Ada',
  email: 'ada@example.com',
  status: 'active' as const,
  details_revoked: 0,
  last_four: '4242',
  details_ciphertext: Buffer.from([0, 1, 2, 255]),
  provider_ref: `ref-${id}`,
  created_at: nowMs,
  updated_at: nowMs,
});

describe('migrations on PostgreSQL', () => {
  it('give 64-bit integers, bytea for blobs and an identity for autoincrement keys; a re-run is a no-op', async () => {
    const db = await freshStore();
    const cards = await columnTypes(db, 'cards');
    expect(cards).toMatchObject({ created_at: 'bigint', details_revoked: 'bigint', details_ciphertext: 'bytea', id: 'text' });
    expect(await columnTypes(db, 'card_ledger_entries')).toMatchObject({ seq: 'bigint', amount_cents: 'bigint' });
    expect(await columnTypes(db, 'payments')).toMatchObject({ fate_closed_at: 'bigint', amount_atomic: 'text' });
    const again = await migrateToLatest(db);
    expect(again.results).toEqual([]);
  });

  it('a whole card402 server runs them on its own database (DATABASE_URL)', async () => {
    const url = await createTestDatabase();
    const db = openStore({ kind: 'postgres', url, poolSize: 2 });
    opened.push(db);
    expect(isPostgres(db)).toBe(true);
    const result = await migrateToLatest(db);
    expect(result.results?.every((r) => r.status === 'Success')).toBe(true);
    expect((await columnTypes(db, 'wallet_auth_replays')).details_reads).toBe('bigint');
  });
});

describe('values come back as the code expects them', () => {
  it('integers (ms times, counts, sums) as JS numbers, blobs as Buffers, never floats', async () => {
    const db = await freshStore();
    const nowMs = Date.UTC(2026, 10, 30, 12, 0, 0, 123); // beyond int4
    await db.insertInto('cards').values(card('c1', nowMs)).execute();
    await db
      .insertInto('card_ledger_entries')
      .values([
        { id: 'e1', card_id: 'c1', kind: 'initial_load', amount_cents: 500_000_00, payment_id: null, description: 'load', created_at: nowMs },
        { id: 'e2', card_id: 'c1', kind: 'spend', amount_cents: -1, payment_id: null, description: 'spend', created_at: nowMs },
      ])
      .execute();
    const row = await db.selectFrom('cards').selectAll().where('id', '=', 'c1').executeTakeFirstOrThrow();
    expect(row.created_at).toBe(nowMs);
    expect(row.details_revoked).toBe(0);
    expect(Buffer.isBuffer(row.details_ciphertext) && [...row.details_ciphertext]).toEqual([0, 1, 2, 255]);
    const sums = await db
      .selectFrom('card_ledger_entries')
      .select((eb) => [eb.fn.sum<number>('amount_cents').as('balance'), eb.fn.countAll<number>().as('n'), eb.fn.max<number>('seq').as('last')])
      .executeTakeFirstOrThrow();
    expect(sums).toEqual({ balance: 500_000_00 - 1, n: 2, last: expect.any(Number) });
  });

  it('a value that is not a safe integer stays text rather than turn into an inexact number', () => {
    expect(parseInteger('9007199254740991')).toBe(9007199254740991);
    expect(parseInteger('9007199254740993')).toBe('9007199254740993');
    expect(parseInteger('-12')).toBe(-12);
    expect(parseInteger('1.50')).toBe('1.50');
  });
});

describe('the SQLite-specific helpers have a PostgreSQL path', () => {
  it('reusable queries are compiled per dialect: one process uses SQLite and PostgreSQL side by side', async () => {
    const pgDb = await freshStore();
    const sqliteDb = openDatabase(':memory:');
    opened.push(sqliteDb);
    await migrateToLatest(sqliteDb);
    const byId = reusableQuery(1, (k: Kysely<Database>, id: string) => k.selectFrom('cards').select(['id', 'created_at']).where('id', '=', id));
    await pgDb.insertInto('cards').values(card('pg', 1)).execute();
    await sqliteDb.insertInto('cards').values(card('lite', 2)).execute();
    expect(await byId(sqliteDb, 'lite')).toEqual([{ id: 'lite', created_at: 2 }]);
    expect(await byId(pgDb, 'pg')).toEqual([{ id: 'pg', created_at: 1 }]);
    expect(await byId(sqliteDb, 'pg')).toEqual([]);
  });

  it('a duplicate key is recognised as one', async () => {
    const db = await freshStore();
    await db.insertInto('cards').values(card('dup', 1)).execute();
    const err = await db.insertInto('cards').values(card('dup', 1)).execute().catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('check-then-write transactions lose no update under concurrency (serializable, retried)', async () => {
    const db = await freshStore();
    const increments = 40;
    await Promise.all(
      Array.from({ length: increments }, () =>
        immediateTransaction(db, async (trx) => {
          const { used_cents } = await trx.selectFrom('sandbox_issuer_usage').select('used_cents').where('id', '=', 1).executeTakeFirstOrThrow();
          await trx.updateTable('sandbox_issuer_usage').set({ used_cents: used_cents + 1 }).where('id', '=', 1).execute();
        }),
      ),
    );
    const { used_cents } = await db.selectFrom('sandbox_issuer_usage').select('used_cents').where('id', '=', 1).executeTakeFirstOrThrow();
    expect(used_cents).toBe(increments);
  });

  it('transactions queued on one key (a card) wait for each other instead of conflicting: each runs once, none is lost', async () => {
    const db = await freshStore();
    const increments = 40;
    let runs = 0;
    await Promise.all(
      Array.from({ length: increments }, () =>
        immediateTransaction(
          db,
          async (trx) => {
            runs++;
            const { used_cents } = await trx.selectFrom('sandbox_issuer_usage').select('used_cents').where('id', '=', 1).executeTakeFirstOrThrow();
            await trx.updateTable('sandbox_issuer_usage').set({ used_cents: used_cents + 1 }).where('id', '=', 1).execute();
          },
          { queueOn: 'card:one' },
        ),
      ),
    );
    const { used_cents } = await db.selectFrom('sandbox_issuer_usage').select('used_cents').where('id', '=', 1).executeTakeFirstOrThrow();
    expect(used_cents).toBe(increments);
    expect(runs).toBe(increments); // unqueued, the losers of each round run again
  });

  it('the write batcher: each write commits alone, a failing one rejects alone', async () => {
    const db = await freshStore();
    const writer = new WriteBatcher(db);
    const results = await Promise.allSettled([
      writer.run((trx) => trx.insertInto('cards').values(card('w1', 1)).execute()),
      writer.run((trx) => trx.insertInto('cards').values(card('w1', 1)).execute()), // same key: one of the two fails
      writer.run((trx) => trx.insertInto('cards').values(card('w2', 1)).execute()),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const ids = (await db.selectFrom('cards').select('id').orderBy('id').execute()).map((r) => r.id);
    expect(ids).toEqual(['w1', 'w2']);
  });
});

describe('connections the server drops', () => {
  it('one dropped while checked out (an advisory lock held) fails its holder, not the process; the pool goes on with fresh ones', async () => {
    const db = await freshStore();
    const { db: observer } = openTestPostgres();
    opened.push(observer);
    let holderPid = 0;
    let dropped!: () => void;
    const droppedNow = new Promise<void>((resolve) => (dropped = resolve));
    const held = withAdvisoryLock(
      db,
      'dropped',
      async () => {
        await droppedNow;
        return 'finished';
      },
      { wait: true },
    );
    // The holder's session, found by the lock it holds.
    await until(async () => {
      const { rows } = await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory' and classid = ${ADVISORY_LOCK_CLASS} and granted`.execute(observer);
      holderPid = rows[0]?.pid ?? 0;
      return holderPid !== 0;
    });
    const { rows } = await sql<{ ok: boolean }>`select pg_terminate_backend(${holderPid}, 10000) as ok`.execute(observer);
    expect(rows[0]?.ok).toBe(true);
    dropped();
    // The work finished, but unlocking on the dead session fails: the holder learns its lock is gone.
    await expect(held).rejects.toThrow();
    // The lock went with the session, and the store answers on a fresh connection.
    const again = await withAdvisoryLock(db, 'dropped', async () => 'again', { wait: false });
    expect(again).toEqual({ ran: true, value: 'again' });
    expect(await db.selectFrom('cards').select('id').execute()).toEqual([]);
  });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}
