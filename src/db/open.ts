import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql, type MigrationResultSet, type SqliteDatabase as KyselySqliteDatabase, type SqliteStatement } from 'kysely';
import { boundedCache } from '../cache.js';
import { migrations } from './migrations/index.js';
import { isPostgres, openPostgres } from './postgres.js';
import { preparePrivateDatabaseFile } from './private-files.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export const BUSY_TIMEOUT_MS = 5000;
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query afresh; on the hot signed-request path that compile step costs about
 * as much as running the query. This keeps the most recently used prepared statements by SQL text
 * (bounded). Kysely's SQLite driver runs one query at a time under its connection mutex, so a
 * cached statement is never used twice at once; streaming gets a fresh statement anyway.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = STATEMENT_CACHE_SIZE): KyselySqliteDatabase {
  // The wrapper kysely gets is built once per statement too: a fresh object with fresh closures on
  // every query showed up in the profiles of the signed and paid paths.
  const cache = boundedCache<string, SqliteStatement>(max);
  const wrap = (sql: string, stmt: SqliteStatement): SqliteStatement => ({
    reader: stmt.reader,
    all: (parameters) => stmt.all(parameters),
    run: (parameters) => stmt.run(parameters),
    iterate: (parameters) => (sqlite.prepare(sql) as unknown as SqliteStatement).iterate(parameters),
  });
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      let wrapped = cache.get(sql);
      if (!wrapped) {
        wrapped = wrap(sql, sqlite.prepare(sql) as unknown as SqliteStatement);
        cache.set(sql, wrapped);
      }
      return wrapped;
    },
  };
}

/**
 * Opens (creating if needed) the SQLite file, or ':memory:', with the pragmas card402 relies on.
 * The file and its -wal/-shm are private to this user (0600, folder created 0700).
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') preparePrivateDatabaseFile(file);
  const sqlite = new SqliteDatabase(file);
  // WAL lets readers run beside the single writer; NORMAL sync is durable across process crashes in WAL mode.
  if (file !== ':memory:') sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // Statement journals (the savepoints of a group commit, see write-batch.ts) stay in memory: as
  // files they were created and unlinked in /var/tmp dozens of times a second under load, holding
  // copies of database pages (names, emails, encrypted card data) on disk.
  sqlite.pragma('temp_store = MEMORY');
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/** Where the store lives: a SQLite file (the embedded default) or a PostgreSQL server. */
export type DatabaseLocation =
  | { kind: 'sqlite'; path: string }
  /** leaseMs: how long an instance's leases outlive it (src/db/leases.ts). */
  | { kind: 'postgres'; url: string; poolSize: number; leaseMs?: number };

/** Opens the store the configuration names; the same `Db` either way. */
export function openStore(location: DatabaseLocation): Db {
  return location.kind === 'postgres' ? openPostgres(location.url, { poolSize: location.poolSize }) : openDatabase(location.path);
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Brings the schema to the latest migration; safe to run on every start. */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  // Branches add migrations in parallel under their own name prefixes, so a migration may land with a
  // name that sorts before one a database already ran: it is run then, instead of refusing to start.
  // On PostgreSQL the migration tables live in the schema the tables do (search_path's first):
  // kysely otherwise finds another schema's migration tables in the same database and skips its own.
  const schema = isPostgres(db) ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${failed} failed: ${String((result.error as Error).message ?? result.error)}`);
  }
  return result;
}
