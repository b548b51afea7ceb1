// bench/paid: N concurrent agents buying cards from card402 against the local ledger, each in its own
// process: the ledger (npm run localnet), card402 (bench/paid-server.ts) and the agents (this file).
// card402 talks to the ledger's RPC over HTTPS, as a deployment talks to a real Soroban RPC: the bench
// makes a self-signed certificate per run and only the server process trusts it (NODE_EXTRA_CA_CERTS).
//   npx tsx bench/paid.ts            (env: AGENTS, CARDS, WARMUP_CARDS, LEDGER_MS, REPEAT, SCALE_LEDGER_MS, SCALE_SECONDS,
//                                     BENCH_CPU_PROF: a directory for a CPU profile of the server over the measured cards)
// Prints medians and ratios; results go to BENCHMARKS.md by hand. No assertions: timings are not tests.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { payAndFetch } from '../test/helpers/pay-and-fetch.js';
import { LOCALNET_PASSPHRASE } from '../src/localnet/index.js';
import { SorobanRpc } from '../src/stellar/rpc.js';
import { selfSignedCert, startLedger, type LedgerProcess } from './ledger-process.js';

const root = path.resolve(import.meta.dirname, '..');
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** card402 in its own process, on the ledger's HTTPS RPC; `caPath` is the only extra CA it trusts. */
async function startServer(ledger: LedgerProcess, caPath: string, channels: number, dataDir: string): Promise<{ child: ChildProcess; url: string; cpu(): Promise<ServerCpu> }> {
  const child = fork(path.join(root, 'bench/paid-server.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: caPath,
      DATA_DIR: dataDir,
      STELLAR_RPC_URL: `${ledger.httpsUrl!}/soroban/rpc`,
      BENCH_FRIENDBOT_URL: `${ledger.url}/friendbot`,
      CHANNEL_COUNT: String(channels),
      SETTLE_POLL_INTERVAL_MS: '25',
      LOG_LEVEL: process.env['BENCH_LOG_SINK'] ? 'info' : 'warn',
      PUBLIC_BASE_URL: 'http://card402.bench',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve) => child.on('message', (m: { ready?: string }) => m.ready && resolve(m.ready)));
  const cpu = () =>
    new Promise<ServerCpu>((resolve) => {
      const on = (m: { cpu?: ServerCpu }) => {
        if (m.cpu) {
          child.off('message', on);
          resolve(m.cpu);
        }
      };
      child.on('message', on);
      child.send('cpu');
    });
  return { child, url, cpu };
}

/** The server's CPU so far: process.cpuUsage() (µs, all threads) and its event-loop thread alone (µs). */
type ServerCpu = NodeJS.CpuUsage & { eventLoopUs: number };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface RunResult {
  cards: number;
  failures: number;
  seconds: number;
  cardsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerCard: number;
  /** Of which the event-loop thread (the rest: GC and compiler threads, libuv's pool). */
  eventLoopMsPerCard: number;
  /** Server CPU per card over the warm-up cards of a fresh process. */
  warmupCpuMsPerCard: number;
  /** /proc/loadavg's 1-minute load average before the warm-up and after the measured cards. */
  loadBefore: string;
  loadAfter: string;
}

/** The 1-, 5- and 15-minute load averages: the machine is shared, so every run says how busy it was. */
const loadAverage = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '-';
  }
};

async function run(opts: { agents: number; channels: number; ledgerMs: number; warmupCards: number; cards?: number; seconds?: number }): Promise<RunResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'card402-bench-'));
  const tls = selfSignedCert(dataDir);
  const ledger = await startLedger(opts.ledgerMs, tls);
  const server = await startServer(ledger, tls.certPath, opts.channels, dataDir);
  const loadBefore = loadAverage();
  try {
    // The agents' own RPC calls (simulate, to sign) go over plain HTTP: their CPU is not measured.
    const rpc = new SorobanRpc(`${ledger.url}/soroban/rpc`);
    const agents = Array.from({ length: opts.agents }, () => Keypair.random());
    for (const a of agents) {
      await fetch(`${ledger.url}/friendbot?addr=${a.publicKey()}`);
      await fetch(`${ledger.url}/friendbot?addr=${a.publicKey()}&asset=USDC&amount=1000000`);
    }
    /** One card bought; a transport error or a non-201 is a failure, reported, never a crash. */
    const buy = async (agent: Keypair) => {
      const started = performance.now();
      try {
        const { response } = await payAndFetch(
          (url, init) => fetch(url, init),
          `${server.url}/cards/create/tier/0`,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nameOnCard: 'Bench Agent', email: 'bench@example.com' }) },
          { keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc },
        );
        const body = await response.text();
        if (response.status !== 201) process.stderr.write(`   failure: HTTP ${response.status} ${body.slice(0, 200)}\n`);
        return { ok: response.status === 201, ms: performance.now() - started };
      } catch (err) {
        process.stderr.write(`   failure: ${err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err)}\n`);
        return { ok: false, ms: performance.now() - started };
      }
    };
    const latencies: number[] = [];
    let failures = 0;
    let issued = 0;
    let warmedUp = 0;
    /** Every agent buys cards back to back until `count` were launched or the deadline passed. */
    const buyMany = async (count: number, deadline: number, record: boolean) => {
      let launched = 0;
      await Promise.all(
        agents.map(async (agent) => {
          while (launched < count && performance.now() < deadline) {
            launched += 1;
            const r = await buy(agent);
            if (!r.ok) failures += 1; // warm-up failures count too
            else if (!record) warmedUp += 1;
            else {
              issued += 1;
              latencies.push(r.ms);
            }
          }
        }),
      );
    };
    // Warm-up, measured apart: a fresh process spends its first thousands of cards compiling (V8's
    // compiler threads stay busy for about 2,000 cards; see BENCHMARKS.md), which a server that runs
    // for days pays once. The steady state is what every further card costs.
    const cpuAtStart = await server.cpu();
    await buyMany(Math.max(opts.warmupCards, opts.channels), Infinity, false);

    const cpuBefore = await server.cpu();
    const started = performance.now();
    await buyMany(opts.cards ?? Infinity, opts.seconds ? started + opts.seconds * 1000 : Infinity, true);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await server.cpu();
    const cpuMs = (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      cards: issued,
      failures,
      seconds,
      cardsPerSecond: issued / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMsPerCard: cpuMs / Math.max(1, issued),
      eventLoopMsPerCard: (cpuAfter.eventLoopUs - cpuBefore.eventLoopUs) / 1000 / Math.max(1, issued),
      warmupCpuMsPerCard: (cpuBefore.user - cpuAtStart.user + cpuBefore.system - cpuAtStart.system) / 1000 / Math.max(1, warmedUp),
      loadBefore,
      loadAfter: loadAverage(),
    };
  } finally {
    server.child.send('stop');
    await new Promise((r) => server.child.once('exit', r));
    ledger.child.kill('SIGTERM');
    await new Promise((r) => ledger.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

const agents = num('AGENTS', 32);
const ledgerMs = num('LEDGER_MS', 250);
const cards = num('CARDS', 1200);
const warmupCards = num('WARMUP_CARDS', 3000);
const repeat = num('REPEAT', 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`bench/paid — ${new Date().toISOString()} — node ${process.version} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
console.log(`\n1) ${agents} concurrent agents, 16 channels, ledger every ${ledgerMs} ms, RPC over HTTPS, ${cards} cards (card only, $10) after ${warmupCards} warm-up cards; median of ${repeat} runs`);
const runs: RunResult[] = [];
for (let i = 0; i < repeat; i++) runs.push(await run({ agents, channels: 16, ledgerMs, warmupCards, cards }));
const m = (pick: (r: RunResult) => number) => median(runs.map(pick));
console.log(`   issued ${runs.map((r) => r.cards).join('/')} cards, ${runs.reduce((n, r) => n + r.failures, 0)} failures in all runs`);
console.log(`   ${fmt(m((r) => r.cardsPerSecond))} cards/s | latency (402 + pay + 201) p50 ${fmt(m((r) => r.p50Ms), 0)} ms, p99 ${fmt(m((r) => r.p99Ms), 0)} ms`);
console.log(`   server CPU ${fmt(m((r) => r.cpuMsPerCard), 2)} ms per paid card (runs: ${runs.map((r) => fmt(r.cpuMsPerCard, 2)).join(', ')}; ledger and agents run in other processes)`);
console.log(`   of which the event-loop thread ${fmt(m((r) => r.eventLoopMsPerCard), 2)} ms (runs: ${runs.map((r) => fmt(r.eventLoopMsPerCard, 2)).join(', ')}; the rest is GC, compiler and libuv threads)`);
console.log(`   load average (1/5/15 min) before → after each run: ${runs.map((r) => `${r.loadBefore} → ${r.loadAfter}`).join('; ')}`);
console.log(`   the ${warmupCards} warm-up cards of each fresh process: ${fmt(m((r) => r.warmupCpuMsPerCard), 2)} ms of server CPU per card (runs: ${runs.map((r) => fmt(r.warmupCpuMsPerCard, 2)).join(', ')})`);

if (process.env['BENCH_ONLY_FIRST']) process.exit(0);
const scaleLedgerMs = num('SCALE_LEDGER_MS', 1000);
const scaleSeconds = num('SCALE_SECONDS', 15);
console.log(`\n2) settlement throughput vs channels, ledger every ${scaleLedgerMs} ms, ${scaleSeconds} s each, 3 agents per channel`);
const rows: Array<[number, RunResult]> = [];
for (const channels of [1, 16]) {
  rows.push([channels, await run({ agents: 3 * channels, channels, ledgerMs: scaleLedgerMs, warmupCards: channels, seconds: scaleSeconds })]);
}
console.log('   channels | cards/s | ideal (channels ÷ ledger s) | ratio to ideal | p50 ms | failures | CPU ms/card');
for (const [channels, r] of rows) {
  const ideal = channels / (scaleLedgerMs / 1000);
  console.log(
    `   ${String(channels).padStart(8)} | ${fmt(r.cardsPerSecond, 2).padStart(7)} | ${fmt(ideal, 1).padStart(27)} | ${fmt(r.cardsPerSecond / ideal, 2).padStart(14)} | ${fmt(r.p50Ms, 0).padStart(6)} | ${String(r.failures).padStart(8)} | ${fmt(r.cpuMsPerCard, 2)}`,
  );
}
console.log(`   16 vs 1 channel: ${fmt(rows[1]![1].cardsPerSecond / rows[0]![1].cardsPerSecond, 2)}x`);
