import type { CompiledQuery, Kysely } from 'kysely';

/** Placeholder parameter values: strings no caller can send (they start with a NUL). */
const placeholder = (i: number) => `\u0000card402-param-${i}\u0000`;

/**
 * A kysely query built and compiled once, then run with new parameter values each call. Kysely
 * rebuilds, freezes and compiles a query's whole operation tree on every call, which on the hot
 * read path cost as much as running it in SQLite. The query is still written with kysely's typed
 * builder; `build` gets placeholder arguments, and the compiled query's parameters that are
 * placeholders are replaced by the call's values (each one bound, never spliced into the SQL).
 * Use it only for queries whose shape does not depend on the argument values.
 */
export function reusableQuery<DB, Args extends readonly (string | number)[], Row>(
  arity: Args['length'],
  build: (db: Kysely<DB>, ...args: Args) => { compile(): CompiledQuery<Row> },
): (db: Kysely<DB>, ...args: Args) => Promise<Row[]> {
  const placeholders = Array.from({ length: arity }, (_, i) => placeholder(i));
  let compiled: CompiledQuery<Row> | undefined;
  let slots: number[] | undefined; // for each compiled parameter: the argument index, or -1 for a constant
  return async (db, ...args) => {
    if (!compiled) {
      const c = build(db, ...(placeholders as unknown as Args)).compile();
      const s = c.parameters.map((p) => placeholders.indexOf(p as string));
      if (c.sql.includes('\u0000')) throw new Error('reusableQuery: a placeholder reached the SQL text; it must be a bound parameter');
      for (let i = 0; i < arity; i++) if (!s.includes(i)) throw new Error(`reusableQuery: argument ${i} is not a parameter of the query`);
      compiled = c;
      slots = s;
    }
    const base = compiled;
    const parameters = slots!.map((slot, i) => (slot < 0 ? base.parameters[i] : args[slot]));
    const result = await db.executeQuery<Row>({ ...base, parameters });
    return result.rows;
  };
}
