import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Db } from '../../src/db/open.js';
import { openPostgres } from '../../src/db/postgres.js';

/**
 * The store the tests run on. `npm test` runs the suite on SQLite, then every test file that
 * touches the store again on PostgreSQL (vitest.config.ts, project `postgres`): there
 * CARD402_TEST_DB=postgres and CARD402_TEST_PG_URL names the maintenance database of the server
 * that test/postgres/global-setup.ts started (or an existing server, see docs/DEPLOYMENT.md).
 */
export function testDialect(): 'sqlite' | 'postgres' {
  return process.env.CARD402_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
}

function adminUrl(): string {
  const url = process.env.CARD402_TEST_PG_URL ?? inject('pgUrl');
  if (!url) throw new Error('CARD402_TEST_DB=postgres needs CARD402_TEST_PG_URL (the test setup sets it)');
  return url;
}

/** The URL of database `name` on the test server (the admin URL with another path). */
function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>, url = adminUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the test server; its postgres:// URL (for a whole card402 server). */
export async function createTestDatabase(): Promise<string> {
  const name = `card402_${randomBytes(8).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  return databaseUrl(name);
}

// One database per test file (each runs in its own process), created on first use; each store
// opened in it gets a schema of its own, so every app starts empty.
let fileDatabase: Promise<string> | undefined;

/**
 * A fresh, empty store: SQLite (`file`, or in memory) or, on the PostgreSQL run, a new schema of
 * its own on the test server. Migrations are not run: callers do that as the server does.
 */
export function openTestDb(file = ':memory:'): Db {
  if (testDialect() === 'sqlite') return openDatabase(file);
  return openTestPostgres().db;
}

/**
 * On the PostgreSQL run: a fresh store, and a way to open it again ("after a restart", or "another
 * process"): each open is a pool of its own, named `applicationName` on the server if given.
 */
export function openTestPostgres(): { db: Db; reopen(opts?: { applicationName?: string }): Db } {
  fileDatabase ??= createTestDatabase();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let created: Promise<string> | undefined;
  const url = () =>
    (created ??= fileDatabase!.then(async (dbUrl) => {
      await admin((c) => c.query(`create schema if not exists ${schema}`), dbUrl);
      return dbUrl;
    }));
  const open = (opts: { applicationName?: string } = {}) => openPostgres(url, { schema, idleTimeoutMs: 1000, ...opts });
  return { db: open(), reopen: (opts) => open(opts) };
}

/** A store that can be opened again after it is closed ("card402 restarted on it"): a SQLite `file`, or a PostgreSQL schema. */
export function openTestStore(file: string): { open(): Db } {
  if (testDialect() === 'sqlite') return { open: () => openDatabase(file) };
  const store = openTestPostgres();
  let first: Db | undefined = store.db;
  return {
    open() {
      const db = first ?? store.reopen();
      first = undefined;
      return db;
    },
  };
}
