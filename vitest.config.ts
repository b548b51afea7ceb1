import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Test files that touch the store: they open a test store (test/helpers/store.ts) themselves or
 * through any test helper they import (an app, a paid harness, a server, the spend helpers, …),
 * however indirectly. The `postgres` project runs exactly these again on PostgreSQL; the rest are
 * pure unit tests, or tests of the SQLite file store itself.
 */
const STORE_HELPER = path.resolve('test/helpers/store.ts');
// Runtime imports only: `import type` lines load nothing.
const RELATIVE_IMPORT = /^import (?!type )[^;]*?from '(\.\.?\/[^']+)\.js'/gms;
function reachesStore(file: string, seen = new Set<string>()): boolean {
  if (file === STORE_HELPER) return true;
  if (seen.has(file) || !existsSync(file)) return false;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(RELATIVE_IMPORT)].some((m) => {
    const target = path.resolve(path.dirname(file), `${m[1]}.ts`);
    return target.startsWith(path.resolve('test')) && reachesStore(target, seen);
  });
}
function storeTests(dir = 'test'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return storeTests(file);
    return entry.name.endsWith('.test.ts') && reachesStore(path.resolve(file)) ? [file] : [];
  });
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: forks keep native better-sqlite3 handles isolated per test file.
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: ['test/postgres/**'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: [...storeTests(), 'test/postgres/**/*.test.ts'],
          env: { CARD402_TEST_DB: 'postgres' },
          globalSetup: ['test/postgres/global-setup.ts'],
        },
      },
    ],
  },
});
