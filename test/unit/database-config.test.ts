import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('choosing the store (DATABASE_URL)', () => {
  it('SQLite in DATA_DIR by default; PostgreSQL when DATABASE_URL is a postgres URL', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/card402' }).database).toEqual({ kind: 'sqlite', path: '/var/lib/card402/card402.sqlite' });
    expect(loadConfig({ DATABASE_URL: 'postgresql://card402:pw@db:5432/card402', DATABASE_POOL_SIZE: '20', INSTANCE_LEASE_SECONDS: '5' }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://card402:pw@db:5432/card402',
      poolSize: 20,
      leaseMs: 5_000,
    });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://u@h/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://u@h/db', DATABASE_POOL_SIZE: '3' }, 'DATABASE_POOL_SIZE'],
    [{ INSTANCE_LEASE_SECONDS: '0' }, 'INSTANCE_LEASE_SECONDS'],
  ])('refuses %o naming %s, never echoing the value', (env, name) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toContain(name);
    expect((err as ConfigError).message).not.toContain('u@h');
  });
});
