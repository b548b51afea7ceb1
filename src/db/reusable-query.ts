import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import { boundedCache } from '../cache.js';

/** Placeholder parameter values: strings no caller can send (they start with a NUL). */
const placeholder = (i: number) => `\u0000card402-param-${i}\u0000`;
const PLACEHOLDERS: string[] = [];
const placeholders = (n: number) => {
  for (let i = PLACEHOLDERS.length; i < n; i++) PLACEHOLDERS.push(placeholder(i));
  return PLACEHOLDERS.slice(0, n);
};

/**
 * A kysely query built and compiled once, then run with new parameter values each call. Kysely
 * rebuilds, freezes and compiles a query's whole operation tree on every call, which on the hot
 * paths cost as much as running it in SQLite. The query is still written with kysely's typed
 * builder; `build` gets placeholder arguments, and the compiled query's parameters that are
 * placeholders are replaced by the call's values (each one bound, never spliced into the SQL).
 * Use it only for queries whose shape does not depend on the argument values.
 */
export function reusableStatement<DB, Args extends readonly unknown[], Row>(
  arity: Args['length'],
  build: (db: Kysely<DB>, ...args: Args) => { compile(): CompiledQuery<Row> },
): (db: Kysely<DB>, ...args: Args) => Promise<QueryResult<Row>> {
  const names = placeholders(arity);
  // Compiled once per SQL dialect (SQLite writes `?`, PostgreSQL `$1`): one process may hold both.
  const byDialect = new Map<unknown, { compiled: CompiledQuery<Row>; slots: number[] }>();
  return (db, ...args) => {
    const dialect = db.getExecutor().adapter.constructor;
    let entry = byDialect.get(dialect);
    if (!entry) {
      const c = build(db, ...(names as unknown as Args)).compile();
      // For each compiled parameter: the argument index, or -1 for a constant.
      const s = c.parameters.map((p) => (typeof p === 'string' ? names.indexOf(p) : -1));
      if (c.sql.includes('\u0000')) throw new Error('reusableQuery: a placeholder reached the SQL text; it must be a bound parameter');
      for (let i = 0; i < arity; i++) if (!s.includes(i)) throw new Error(`reusableQuery: argument ${i} is not a parameter of the query`);
      entry = { compiled: c, slots: s };
      byDialect.set(dialect, entry);
    }
    const base = entry.compiled;
    const parameters = entry.slots.map((slot, i) => (slot < 0 ? base.parameters[i] : args[slot]));
    return db.executeQuery<Row>({ ...base, parameters });
  };
}

/** reusableStatement for queries that return rows. */
export function reusableQuery<DB, Args extends readonly unknown[], Row>(
  arity: Args['length'],
  build: (db: Kysely<DB>, ...args: Args) => { compile(): CompiledQuery<Row> },
): (db: Kysely<DB>, ...args: Args) => Promise<Row[]> {
  const run = reusableStatement(arity, build);
  return async (db, ...args) => (await run(db, ...args)).rows;
}

/**
 * reusableStatement for a family of queries whose shape depends on something small (which columns
 * an update sets, how many statuses it accepts): one compiled query per shape, at most `maxShapes`.
 */
export function reusableByShape<DB, Row>(
  maxShapes: number,
  build: (db: Kysely<DB>, shape: string, args: readonly unknown[]) => { compile(): CompiledQuery<Row> },
): (db: Kysely<DB>, shape: string, args: readonly unknown[]) => Promise<QueryResult<Row>> {
  const shapes = boundedCache<string, (db: Kysely<DB>, ...args: unknown[]) => Promise<QueryResult<Row>>>(maxShapes);
  return (db, shape, args) => {
    let run = shapes.get(shape);
    if (!run) {
      run = reusableStatement<DB, unknown[], Row>(args.length, (k, ...ph) => build(k, shape, ph));
      shapes.set(shape, run);
    }
    return run(db, ...args);
  };
}
