import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL server for the test suite, from the PostgreSQL binaries on this machine
 * (Debian's `postgresql` package: /usr/lib/postgresql/<version>/bin; or PG_BIN_DIR): a fresh
 * cluster in a temporary folder, reached only through a unix socket there (no TCP port to pick or
 * collide on), trust authentication, durability off (it is thrown away). PostgreSQL refuses to run
 * as root: under root the cluster belongs to the `postgres` user if there is one, else `nobody`.
 */
export interface TestPostgres {
  /** postgres:// URL of a database on the server (the maintenance database `postgres` by default). */
  url(database?: string): string;
  stop(): Promise<void>;
}

export const TEST_SUPERUSER = 'card402';
const SOCKET_PORT = 5432; // only names the socket file (.s.PGSQL.5432): TCP is off

export function findPostgresBinaries(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN_DIR) candidates.push(process.env.PG_BIN_DIR);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) candidates.push(path.dirname(which.stdout.trim()));
  const found = candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres')));
  if (!found) {
    throw new Error(
      'PostgreSQL server binaries (initdb, postgres) not found: install them (Debian/Ubuntu: apt-get install -y postgresql) or set PG_BIN_DIR',
    );
  }
  return found;
}

/** The uid/gid to run PostgreSQL as: ourselves, or an unprivileged user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':'));
  const user = passwd.find((f) => f[0] === 'postgres') ?? passwd.find((f) => f[0] === 'nobody');
  if (!user) throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
  return { uid: Number(user[2]), gid: Number(user[3]) };
}

function chownTree(dir: string, who: { uid: number; gid: number }): void {
  chownSync(dir, who.uid, who.gid);
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`PostgreSQL exited with code ${server.exitCode}:\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 60 s:\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBinaries();
  const dir = mkdtempSync(path.join(tmpdir(), 'card402-pg-'));
  const dataDir = path.join(dir, 'data');
  const who = runAs();
  if (who) chownTree(dir, who);
  const ids = who ? { uid: who.uid, gid: who.gid } : {};
  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', TEST_SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8', cwd: dir, ...ids },
  );
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  let output = '';
  const server = spawn(
    path.join(bin, 'postgres'),
    [
      '-D', dataDir,
      '-k', dir,
      '-p', String(SOCKET_PORT),
      '-c', "listen_addresses=",
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=400',
      '-c', 'max_locks_per_transaction=256',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...ids },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  server.stdout!.on('data', keep);
  server.stderr!.on('data', keep);
  const url = (database = 'postgres') => `postgres://${TEST_SUPERUSER}@${encodeURIComponent(dir)}:${SOCKET_PORT}/${database}`;
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown: ends sessions, no waiting for clients
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url(), server, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
