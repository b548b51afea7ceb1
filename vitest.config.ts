import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Test files that touch the store: they build an app, a paid harness or a server, or open a test
 * store (test/helpers/store.ts). The `postgres` project runs exactly these again on PostgreSQL.
 */
const STORE_HELPERS = /from '\.\.\/helpers\/(app|paid|server|store|multi-instance)\.js'/;
function storeTests(dir = 'test'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return storeTests(file);
    return entry.name.endsWith('.test.ts') && STORE_HELPERS.test(readFileSync(file, 'utf8')) ? [file] : [];
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
