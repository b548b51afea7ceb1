import pg from 'pg';
import {
  ColumnDefinitionNode,
  DataTypeNode,
  Kysely,
  OperationNodeTransformer,
  PostgresAdapter,
  PostgresDialect,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { Database } from './schema.js';

/** Connections one card402 process keeps to PostgreSQL at most (DATABASE_POOL_SIZE). */
export const DEFAULT_POOL_SIZE = 10;

// PostgreSQL type oids (pg_type.oid) whose text form pg would hand over as a string.
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Integers come back as JS numbers, as they do from SQLite: our integer columns are bigint on
 * PostgreSQL (unix milliseconds do not fit in int4), so are count(*) and sum(bigint) is numeric.
 * Every value card402 stores there is a safe integer (times in ms, cents, counters); one that is
 * not (a fraction, or beyond 2^53) stays a string rather than become an inexact float — money is
 * never a float. Money in atomic USDC units is a text column and never passes through here.
 */
export function parseInteger(text: string): number | string {
  if (!/^-?\d+$/.test(text)) return text;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return parseInteger;
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  },
} as pg.CustomTypesConfig;

/**
 * The migrations are written once, in the types SQLite knows (`integer`, `blob`, `integer primary
 * key autoincrement`). On PostgreSQL the same DDL means: integer → bigint (unix ms and sums of
 * cents need 64 bits; SQLite's INTEGER is 64-bit too), blob → bytea, and an autoincrement key →
 * bigserial. Applied to schema statements only; other queries pass through unchanged.
 */
class PortableDdl extends OperationNodeTransformer {
  protected override transformDataType(node: DataTypeNode): DataTypeNode {
    const type = node.dataType.toLowerCase();
    if (type === 'integer') return DataTypeNode.create('bigint');
    if (type === 'blob') return DataTypeNode.create('bytea');
    return node;
  }

  protected override transformColumnDefinition(node: ColumnDefinitionNode, queryId?: Parameters<OperationNodeTransformer['transformNode']>[1]): ColumnDefinitionNode {
    const transformed = super.transformColumnDefinition(node, queryId);
    if (!transformed.autoIncrement) return transformed;
    return ColumnDefinitionNode.cloneWith(transformed, { autoIncrement: false, dataType: DataTypeNode.create('bigserial') } as Partial<ColumnDefinitionNode>);
  }
}

const DDL_KINDS = new Set(['CreateTableNode', 'AlterTableNode', 'CreateIndexNode']);

export class PortableDdlPlugin implements KyselyPlugin {
  private readonly transformer = new PortableDdl();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return DDL_KINDS.has(args.node.kind) ? this.transformer.transformNode(args.node) : args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

export interface PostgresOptions {
  poolSize?: number;
  /** Close idle connections after this long (ms); tests make it short. */
  idleTimeoutMs?: number;
  /** Tables live in this schema instead of `public` (the tests give each app one of its own). */
  schema?: string;
  /** How the server lists these connections (pg_stat_activity.application_name); `card402` by default. */
  applicationName?: string;
}

/**
 * A kysely over a pg pool for `url` (postgres://user:password@host:port/database), or for the URL
 * a function resolves when the store is first used (the tests create a database or schema there).
 */
export function openPostgres(url: string | (() => Promise<string>), opts: PostgresOptions = {}): Db {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error('schema: expected a lower-case SQL identifier');
  const makePool = (connectionString: string) => {
    const pool = new pg.Pool({
      connectionString,
      max: opts.poolSize ?? DEFAULT_POOL_SIZE,
      idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
      application_name: opts.applicationName ?? 'card402',
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
      types,
    });
    // An idle connection that the server drops (restart, failover) must not crash the process; the
    // next query takes a fresh connection.
    pool.on('error', () => undefined);
    // Nor one dropped while it is checked out (a query in flight, a transaction or an advisory lock
    // held): its holder sees the failure on its next query, and the pool discards it when released.
    // Without a listener here pg re-emits the error on the client, and an unhandled 'error' event
    // would end the process.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return pool;
  };
  const pool = typeof url === 'string' ? makePool(url) : async () => makePool(await url());
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new PortableDdlPlugin()] });
}

type Db = Kysely<Database>;

/** Which engine a kysely instance (or a transaction of one) runs on. */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** SQLSTATEs after which the whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

export function isRetryableTransactionError(err: unknown): boolean {
  return err instanceof Error && 'code' in err && RETRYABLE.has(String((err as { code: unknown }).code));
}
