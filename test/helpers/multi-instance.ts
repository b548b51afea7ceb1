import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createLocalnet, serveLocalnet, type Localnet, type LocalnetServer } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { prepareLocalKeys } from '../../src/stellar/keys.js';
import { createTestDatabase } from './store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Instance {
  url: string;
  process: ChildProcess;
  output(): string;
  /** SIGKILL: the process dies at once, holding whatever it held. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

export interface Cluster {
  localnet: Localnet;
  ledgerServer: LocalnetServer;
  instances: Instance[];
  databaseUrl: string;
  treasury: string;
  /** Runs SQL on the shared database. */
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  agent(usdc: bigint): Keypair;
  close(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * `count` card402 processes, booted as `npm start` boots them (src/main.ts), on one PostgreSQL
 * database (a new one on the test server) and one local ledger served from this process, sharing
 * the treasury, the channel accounts and the card data key, as instances behind a load balancer do.
 */
export async function startCluster(count: number, opts: { env?: Record<string, string>; ledgerMs?: number | 'manual' } = {}): Promise<Cluster> {
  const localnet = createLocalnet({ ledgerMs: opts.ledgerMs ?? 200 });
  localnet.start();
  const ledgerServer = await serveLocalnet(localnet, { port: 0 });
  const databaseUrl = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-cluster-'));
  const channels = Array.from({ length: 4 }, () => Keypair.random().secret());
  const shared: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    STELLAR_RPC_URL: ledgerServer.rpcUrl,
    STELLAR_NETWORK: 'stellar:testnet',
    TREASURY_SECRET: Keypair.random().secret(),
    CHANNEL_SECRETS: channels.join(','),
    CARD_DATA_KEY: randomBytes(32).toString('hex'),
    STELLAR_LEDGER_SECONDS: '1',
    SETTLE_POLL_INTERVAL_MS: '50',
    SETTLE_POLL_TIMEOUT_MS: '10000',
    RECONCILE_INTERVAL_MS: '300',
    INSTANCE_LEASE_SECONDS: '2',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://card402.test',
    ...opts.env,
  };
  // Fund the shared accounts on the ledger (and the treasury's USDC trustline), as an operator would.
  const keys = prepareLocalKeys(loadConfig({ ...shared, DATA_DIR: dataDir }), localnet, createMemoryLogger());
  const instances: Instance[] = [];
  const boot = async (i: number): Promise<Instance> => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, ...shared, DATA_DIR: path.join(dataDir, `instance-${i}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /card402 is up at (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`instance ${i} exited (${code}) before it served:\n${output}`)));
    });
    return {
      url,
      process: child,
      output: () => output,
      async kill() {
        child.kill('SIGKILL');
        await exited(child);
      },
      async stop() {
        child.kill('SIGTERM');
        await exited(child);
      },
    };
  };
  // Booted side by side: they migrate the one database together (kysely's migration lock keeps
  // them in turn), as instances rolled out at once do.
  const booted = await Promise.allSettled(Array.from({ length: count }, (_, i) => boot(i)));
  for (const result of booted) if (result.status === 'fulfilled') instances.push(result.value);
  const failed = booted.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(instances.map((instance) => instance.kill()));
    await ledgerServer.close();
    await localnet.stop();
    throw failed.reason;
  }
  return {
    localnet,
    ledgerServer,
    instances,
    databaseUrl,
    treasury: keys.treasury.publicKey(),
    async query(text, values = []) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    agent(usdc) {
      const kp = Keypair.random();
      localnet.fundXlm(kp.publicKey());
      localnet.mintUsdc(kp.publicKey(), usdc);
      return kp;
    },
    async close() {
      await Promise.all(instances.map((instance) => instance.kill()));
      await ledgerServer.close();
      await localnet.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
