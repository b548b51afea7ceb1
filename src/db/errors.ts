/**
 * A write refused because a row with the same unique key exists: SQLite's SQLITE_CONSTRAINT_*
 * codes, PostgreSQL's SQLSTATE 23505 (unique_violation).
 */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Error) || !('code' in err)) return false;
  const code = String((err as { code: unknown }).code);
  return code.startsWith('SQLITE_CONSTRAINT') || code === '23505';
}
