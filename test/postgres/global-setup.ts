import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './server.js';

/**
 * vitest globalSetup of the `postgres` project: starts a throwaway PostgreSQL server for the run,
 * unless CARD402_TEST_PG_URL already names one (an existing server: its user must be allowed to
 * create databases), and hands its URL to the test processes.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.CARD402_TEST_PG_URL;
  if (existing) {
    project.provide('pgUrl', existing);
    return async () => undefined;
  }
  const server = await startTestPostgres();
  process.env.CARD402_TEST_PG_URL = server.url();
  project.provide('pgUrl', server.url());
  return () => server.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}
