// bench/scale: issue 18's measurements, in one run, every process apart: the local ledger (npm run
// localnet, RPC over HTTPS with a per-run certificate), card402 exactly as `npm start` boots it
// (src/main.ts, one process per instance, channels created at start-up from the treasury), and the
// agents (this process).
//   (a) settlement throughput against channel count at the real network's 5 s ledgers
//       (target ≥ 0.9 × channels ÷ ledger seconds), 2 agents per channel buying back to back;
//   (b) one, two and three instances on one PostgreSQL: paid cards/s and signed reads/s, ratios;
//   (c) SQLite and PostgreSQL side by side, one instance, the same workload as (b);
//   (d) latency of the paid request (the POST carrying the payment) with fewer payments in flight
//       than free channels (target p50 ≤ 1.5 ledger intervals).
//
//   npx tsx bench/scale.ts [--quick] [--only=a,b,c,d]
//   env: SCALE_CHANNELS (a: 16,64,256,512), SCALE_LEDGER_MS (a, d: 5000), SCALE_SECONDS (measured
//        seconds per run: 60), MULTI_CHANNELS (b, c: 64), MULTI_LEDGER_MS (b, c: 1000),
//        MULTI_AGENTS (b, c: 2 per channel), READERS (b, c: 32 concurrent signed readers),
//        LATENCY_CHANNELS (d: 64), LATENCY_IN_FLIGHT (d: 32),
//        BENCH_PG_URL (an existing PostgreSQL whose user may create databases; default: a throwaway
//        server from this machine's binaries, fsync off, as the test suite runs it).
// --quick: small numbers (2-4 channels, 1 s ledgers, 6 s runs) to check that the bench works, not to measure.
// Prints medians and ratios side by side; results go to BENCHMARKS.md by hand. No assertions.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import pg from 'pg';
import { createExactPayment, encodePayment, readPaymentRequired } from '../src/client/x402-payer.js';
import { secretSeedSigner, walletAuthHeadersV2 } from '../src/client/wallet-auth.js';
import { LOCALNET_PASSPHRASE } from '../src/localnet/index.js';
import { PAYMENT_SIGNATURE_HEADER } from '../src/protocol/x402-codec.js';
import { SorobanRpc } from '../src/stellar/rpc.js';
import { startTestPostgres, type TestPostgres } from '../test/postgres/server.js';
import { selfSignedCert, startLedger, type BenchTls, type LedgerProcess } from './ledger-process.js';

const root = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = new Set((onlyArg ? onlyArg.slice('--only='.length) : 'a,b,c,d').split(','));
const num = (name: string, fallback: number, quickValue: number) => Number(process.env[name] ?? (quick ? quickValue : fallback));
const list = (name: string, fallback: number[], quickValue: number[]) => (process.env[name] ? process.env[name]!.split(',').map(Number) : quick ? quickValue : fallback);

const SECONDS = num('SCALE_SECONDS', 60, 6);
const cpuText = (r: { cpuPerCard: { card402: number; ledger: number; agents: number } }) =>
  `${fmt(r.cpuPerCard.card402, 1)} + ${fmt(r.cpuPerCard.ledger, 1)} + ${fmt(r.cpuPerCard.agents, 1)}`;
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const pad = (s: string, n: number) => s.padStart(n);
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const loadAverage = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '-';
  }
};

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
/** CPU time (user + system, ms) a process has used so far; NaN where /proc is missing. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return NaN;
  }
}

// --- processes ---------------------------------------------------------------------------------

interface Instance {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM (graceful shutdown) and wait for the exit. */
  stop(): Promise<void>;
}

/** One card402 process, booted as `npm start` boots it, on the bench's ledger over HTTPS. */
async function startInstance(env: Record<string, string>, dataDir: string, tls: BenchTls): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, NODE_EXTRA_CA_CERTS: tls.certPath, DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-100_000);
      const match = /card402 is up at (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`card402 exited (${code}) before it served:\n${output.slice(-4000)}`)));
  });
  return {
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Stage {
  ledger: LedgerProcess;
  instances: Instance[];
  rpc: SorobanRpc;
  close(): Promise<void>;
}

/**
 * A ledger closing every `ledgerMs`, and `count` card402 instances sharing one store (a SQLite
 * file for one instance, or a new PostgreSQL database), the treasury, `channels` channel accounts
 * derived from one CHANNEL_SEED, and the card data key.
 */
async function stage(opts: { ledgerMs: number; channels: number; count: number; store: 'sqlite' | { pgUrl: string } }): Promise<Stage> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-scale-'));
  const tls = selfSignedCert(dir);
  const ledger = await startLedger(opts.ledgerMs, tls);
  const treasury = Keypair.random();
  await friendbot(ledger, `addr=${treasury.publicKey()}`);
  await friendbot(ledger, `addr=${treasury.publicKey()}&asset=USDC&amount=0`);
  const shared: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    STELLAR_RPC_URL: `${ledger.httpsUrl!}/soroban/rpc`,
    STELLAR_NETWORK: 'stellar:testnet',
    STELLAR_LEDGER_SECONDS: String(Math.max(1, Math.round(opts.ledgerMs / 1000))),
    TREASURY_SECRET: treasury.secret(),
    MANDATE_SECRET: Keypair.random().secret(),
    CHANNEL_SEED: randomBytes(32).toString('hex'),
    CHANNEL_ACCOUNTS: String(opts.channels),
    // Enough XLM that no channel runs low during a run (top-ups are tested, not measured, here).
    CHANNEL_TOP_UP_XLM: '5',
    CARD_DATA_KEY: randomBytes(32).toString('hex'),
    SETTLE_POLL_INTERVAL_MS: '100',
    SETTLE_POLL_TIMEOUT_MS: String(Math.max(30_000, opts.ledgerMs * 6)),
    DETAILS_NONCES_PER_WINDOW: '1000000',
    AUTH_FAILURES_PER_IP: '1000000',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: 'http://card402.bench',
    ...(opts.store === 'sqlite' ? {} : { DATABASE_URL: opts.store.pgUrl, DATABASE_POOL_SIZE: '10' }),
  };
  // The first instance creates the channels (batches of 100, one per ledger); the others find them.
  const instances: Instance[] = [];
  const boot = (i: number) => startInstance(shared, path.join(dir, `instance-${i}`), tls);
  try {
    instances.push(await boot(0));
    instances.push(...(await Promise.all(Array.from({ length: opts.count - 1 }, (_, i) => boot(i + 1)))));
  } catch (err) {
    await Promise.all(instances.map((i) => i.stop()));
    ledger.child.kill('SIGTERM');
    throw err;
  }
  return {
    ledger,
    instances,
    rpc: new SorobanRpc(`${ledger.url}/soroban/rpc`),
    async close() {
      await Promise.all(instances.map((i) => i.stop()));
      const exited = new Promise((r) => ledger.child.once('exit', r));
      ledger.child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function friendbot(ledger: LedgerProcess, query: string): Promise<void> {
  const res = await fetch(`${ledger.url}/friendbot?${query}`);
  if (!res.ok && res.status !== 400) throw new Error(`friendbot: HTTP ${res.status} ${await res.text()}`);
}

async function fundedAgents(s: Stage, count: number): Promise<Keypair[]> {
  const agents = Array.from({ length: count }, () => Keypair.random());
  for (let i = 0; i < agents.length; i += 16) {
    await Promise.all(
      agents.slice(i, i + 16).map(async (a) => {
        await friendbot(s.ledger, `addr=${a.publicKey()}`);
        await friendbot(s.ledger, `addr=${a.publicKey()}&asset=USDC&amount=1000000`);
      }),
    );
  }
  return agents;
}

// --- load --------------------------------------------------------------------------------------

const CARD_BODY = JSON.stringify({ nameOnCard: 'Bench Agent', email: 'bench@example.com' });

/** One card: the 402, the payment signed here, then the paid POST (timed on its own). */
async function buy(url: string, agent: Keypair, rpc: SorobanRpc): Promise<{ ok: boolean; paidMs: number; cardId?: string; error?: string }> {
  const target = `${url}/cards/create/tier/0`;
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: CARD_BODY };
  try {
    const first = await fetch(target, init);
    if (first.status !== 402) return { ok: false, paidMs: NaN, error: `HTTP ${first.status} ${(await first.text()).slice(0, 200)}` };
    const payment = await createExactPayment(await readPaymentRequired(first), { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc });
    const started = performance.now();
    const paid = await fetch(target, { ...init, headers: { ...init.headers, [PAYMENT_SIGNATURE_HEADER]: encodePayment(payment) } });
    const paidMs = performance.now() - started;
    const text = await paid.text();
    if (paid.status !== 201) return { ok: false, paidMs, error: `HTTP ${paid.status} ${text.slice(0, 200)}` };
    return { ok: true, paidMs, cardId: (JSON.parse(text) as { card: { cardId: string } }).card.cardId };
  } catch (err) {
    return { ok: false, paidMs: NaN, error: err instanceof Error ? err.message : String(err) };
  }
}

interface PaidResult {
  cards: number;
  failures: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  load: string;
  /** CPU ms per card over the measured window: all card402 instances, the ledger, this process (the agents). */
  cpuPerCard: { card402: number; ledger: number; agents: number };
}

/** CPU (ms) of the instances, the ledger and this process, read together. */
function stageCpu(s: Stage): { card402: number; ledger: number; agents: number } {
  const own = process.cpuUsage();
  return {
    card402: s.instances.reduce((sum, i) => sum + cpuMs(i.child.pid), 0),
    ledger: cpuMs(s.ledger.child.pid),
    agents: (own.user + own.system) / 1000,
  };
}

/**
 * Every agent buys back to back (agent i on instance i mod n) for `warmupMs`, then for
 * `seconds`; cards whose paid POST completed inside the measured window count.
 */
async function paidLoad(s: Stage, agents: Keypair[], seconds: number, warmupMs: number): Promise<PaidResult> {
  const loadBefore = loadAverage();
  const start = performance.now() + warmupMs;
  const end = start + seconds * 1000;
  const latencies: number[] = [];
  let failures = 0;
  const errors = new Map<string, number>();
  let cpuStart: ReturnType<typeof stageCpu> | undefined;
  const cpuTimer = setTimeout(() => (cpuStart = stageCpu(s)), warmupMs);
  await Promise.all(
    agents.map(async (agent, i) => {
      const url = s.instances[i % s.instances.length]!.url;
      while (performance.now() < end) {
        const r = await buy(url, agent, s.rpc);
        const at = performance.now();
        if (at < start || at > end) continue;
        if (r.ok) latencies.push(r.paidMs);
        else {
          failures += 1;
          const key = (r.error ?? '').slice(0, 120);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  clearTimeout(cpuTimer);
  const cpuEnd = stageCpu(s);
  const per = (k: 'card402' | 'ledger' | 'agents') => (cpuStart ? (cpuEnd[k] - cpuStart[k]) / Math.max(1, latencies.length) : NaN);
  for (const [error, n] of errors) process.stderr.write(`   ${n} × failure: ${error}\n`);
  return {
    cards: latencies.length,
    failures,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    load: `${loadBefore} → ${loadAverage()}`,
    cpuPerCard: { card402: per('card402'), ledger: per('ledger'), agents: per('agents') },
  };
}

/**
 * `readers` concurrent wallet-signed reads (GET /cards, v2 request-bound signatures: each a fresh
 * nonce spent in the shared replay store), spread over the instances, for `seconds`.
 */
async function signedReads(s: Stage, wallets: Keypair[], readers: number, seconds: number): Promise<{ reads: number; failures: number; perSecond: number; p50Ms: number }> {
  const signers = wallets.map((w) => secretSeedSigner(w.secret()));
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: readers }, async (_, i) => {
      const url = `${s.instances[i % s.instances.length]!.url}/cards`;
      const signer = signers[i % signers.length]!;
      while (performance.now() < end) {
        const started = performance.now();
        const res = await fetch(url, { headers: walletAuthHeadersV2(signer, { method: 'GET', url }) });
        await res.arrayBuffer();
        if (res.status === 200) latencies.push(performance.now() - started);
        else failures += 1;
      }
    }),
  );
  return { reads: latencies.length, failures, perSecond: latencies.length / seconds, p50Ms: percentile(latencies, 50) };
}

// --- PostgreSQL ----------------------------------------------------------------------------------

let pgServer: TestPostgres | undefined;
async function newPgDatabase(): Promise<string> {
  const adminUrl = process.env.BENCH_PG_URL ?? (pgServer ??= await startTestPostgres()).url();
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

// --- scenarios -----------------------------------------------------------------------------------

console.log(`bench/scale — ${new Date().toISOString()} — node ${process.version} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}${quick ? ' — QUICK (checks the bench works; not a measurement)' : ''}`);

try {
  if (only.has('a')) {
    const ledgerMs = num('SCALE_LEDGER_MS', 5000, 1000);
    const channelCounts = list('SCALE_CHANNELS', [16, 64, 256, 512], [2, 4]);
    console.log(`\n(a) settlement throughput vs channels — ledger every ${ledgerMs} ms, one instance (SQLite), 2 agents per channel, ${SECONDS} s measured after 2 ledgers`);
    console.log('    channels | cards/s | target (0.9 × ch ÷ ledger s) | ratio to target | paid p50 ms | p99 ms | failures | CPU ms/card card402 + ledger + agents | load (1/5/15) before → after');
    for (const channels of channelCounts) {
      const s = await stage({ ledgerMs, channels, count: 1, store: 'sqlite' });
      try {
        const agents = await fundedAgents(s, 2 * channels);
        const r = await paidLoad(s, agents, SECONDS, 2 * ledgerMs);
        const target = (0.9 * channels) / (ledgerMs / 1000);
        console.log(`    ${pad(String(channels), 8)} | ${pad(fmt(r.perSecond, 2), 7)} | ${pad(fmt(target, 1), 28)} | ${pad(fmt(r.perSecond / target, 2), 15)} | ${pad(fmt(r.p50Ms, 0), 11)} | ${pad(fmt(r.p99Ms, 0), 6)} | ${pad(String(r.failures), 8)} | ${pad(cpuText(r), 37)} | ${r.load}`);
      } finally {
        await s.close();
      }
    }
  }

  const multiChannels = num('MULTI_CHANNELS', 64, 4);
  const multiLedgerMs = num('MULTI_LEDGER_MS', 1000, 1000);
  const multiAgents = num('MULTI_AGENTS', 2 * multiChannels, 2 * multiChannels);
  const readers = num('READERS', 32, 4);
  type Row = { label: string; paid: PaidResult; reads: Awaited<ReturnType<typeof signedReads>> };
  const workload = async (count: number, store: 'sqlite' | 'postgres'): Promise<Row> => {
    const s = await stage({ ledgerMs: multiLedgerMs, channels: multiChannels, count, store: store === 'sqlite' ? 'sqlite' : { pgUrl: await newPgDatabase() } });
    try {
      const agents = await fundedAgents(s, multiAgents);
      const paid = await paidLoad(s, agents, SECONDS, 2 * multiLedgerMs);
      const reads = await signedReads(s, agents, readers, SECONDS);
      return { label: `${count} × ${store}`, paid, reads };
    } finally {
      await s.close();
    }
  };
  const table = (rows: Row[], base: Row) => {
    console.log('    instances × store | paid cards/s | ratio | paid p50 ms | signed reads/s | ratio | read p50 ms | failures (paid/read) | CPU ms/card card402 + ledger + agents | load before → after');
    for (const r of rows) {
      console.log(
        `    ${pad(r.label, 17)} | ${pad(fmt(r.paid.perSecond, 2), 12)} | ${pad(fmt(r.paid.perSecond / base.paid.perSecond, 2), 5)} | ${pad(fmt(r.paid.p50Ms, 0), 11)} | ${pad(fmt(r.reads.perSecond, 0), 14)} | ${pad(fmt(r.reads.perSecond / base.reads.perSecond, 2), 5)} | ${pad(fmt(r.reads.p50Ms, 1), 11)} | ${pad(`${r.paid.failures}/${r.reads.failures}`, 20)} | ${pad(cpuText(r.paid), 37)} | ${r.paid.load}`,
      );
    }
  };
  const pgNote = process.env.BENCH_PG_URL ? 'PostgreSQL at BENCH_PG_URL' : 'a throwaway PostgreSQL from this machine (fsync off, unix socket)';
  let onePg: Row | undefined;
  if (only.has('b')) {
    console.log(`\n(b) one, two, three instances on one PostgreSQL (${pgNote}) — ${multiChannels} channels, ledger every ${multiLedgerMs} ms, ${multiAgents} agents buying, then ${readers} signed readers (GET /cards, v2), ${SECONDS} s each; ratios to one instance`);
    const rows: Row[] = [];
    for (const count of [1, 2, 3]) rows.push(await workload(count, 'postgres'));
    onePg = rows[0];
    table(rows, rows[0]!);
    console.log(`    every process shares ${os.cpus().length} cores: card402 instances, PostgreSQL (its CPU is not counted above), the ledger and the agents`);
  }
  if (only.has('c')) {
    console.log(`\n(c) SQLite vs PostgreSQL (${pgNote}), one instance, the workload of (b); ratio to SQLite`);
    const sqlite = await workload(1, 'sqlite');
    const postgres = onePg ?? (await workload(1, 'postgres'));
    table([sqlite, postgres], sqlite);
  }
  if (only.has('d')) {
    const ledgerMs = num('SCALE_LEDGER_MS', 5000, 1000);
    const channels = num('LATENCY_CHANNELS', 64, 4);
    const inFlight = Math.min(num('LATENCY_IN_FLIGHT', 32, 2), channels);
    console.log(`\n(d) paid request latency — ${channels} channels, ${inFlight} payments in flight, ledger every ${ledgerMs} ms, ${SECONDS} s`);
    const s = await stage({ ledgerMs, channels, count: 1, store: 'sqlite' });
    try {
      const agents = await fundedAgents(s, inFlight);
      const r = await paidLoad(s, agents, SECONDS, 2 * ledgerMs);
      console.log(`    paid POST p50 ${fmt(r.p50Ms, 0)} ms = ${fmt(r.p50Ms / ledgerMs, 2)} ledger intervals (target ≤ 1.5), p99 ${fmt(r.p99Ms, 0)} ms; ${r.cards} cards, ${r.failures} failures; CPU ms/card ${cpuText(r)}; load ${r.load}`);
    } finally {
      await s.close();
    }
  }
} finally {
  await pgServer?.stop();
}
