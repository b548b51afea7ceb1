/**
 * Authorization decisions over real HTTP: POST /sandbox/authorizations against the production
 * createApp() in its own process (SQLite file, sandbox card network on).
 *
 *   npx tsx bench/authorizations/run.ts [--duration 10 --conns 16 --cards 1000 --runs 1 --only one|spread --load-cents 10000 --rate N]
 *
 * Two scenarios, each `runs` times (the table shows medians):
 *   - one:    every request charges the same card (the worst case: every decision waits for the
 *             card's lock and reads its whole history);
 *   - spread: requests go round-robin over `cards` cards.
 * Each card is loaded with LOAD_CENTS (--load-cents) and charged CHARGE_CENTS per request, so a long run drains
 * it and the later decisions are declines (insufficient_funds): both outcomes are measured. The
 * load generator is this process (undici, `conns` keep-alive connections, one request at a time
 * each): request bodies are built before the run and answers are read through a bare dispatch
 * handler (status code, and whether the body says approved; no JSON parse), so it costs the two
 * cores as little as it can; it records every request's latency. By default each connection sends
 * its next request as soon as the last is answered (a closed loop: the server's saturation rate,
 * and latency at that rate). With --rate N the requests are offered at N per second on a fixed
 * schedule over the same connections (an open loop, the way independent merchants arrive), and each
 * latency is counted from the moment its request was due, so time it waited for a free connection
 * counts too: latency at a given load. Besides decisions/s and latency,
 * each run reports CPU per decision of the server process (all threads, and its event-loop thread
 * alone, from /proc) and of the load generator, and the load average at the start and the end:
 * on a shared machine CPU per decision is steadier than decisions/s. BENCH_CPU_PROF=<dir> writes
 * a CPU profile of each server (read it with bench/cpu-profile-summary.ts).
 * Afterwards the database is read directly: zero overspends means no card's
 * available balance is below zero and no card holds or captured more than it was loaded with.
 * Target (issue #13, this 2-core machine): ≥ 1,500 decisions/s, p99 ≤ 10 ms, zero overspends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, type Dispatcher } from 'undici';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { addLedgerEntry, cardFunds, insertCard } from '../../src/cards/repository.js';
import { CardNetworkIndex } from '../../src/cards/spend/network-index.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { processCpuUs } from '../process-cpu.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}
const textFlag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

const DURATION_S = flag('duration', 10);
const CONNS = flag('conns', 16);
const CARDS = flag('cards', 1000);
const RUNS = flag('runs', 1);
const ONLY = textFlag('only');
/**
 * What each card is loaded with (--load-cents, default $100.00). At 1 cent a decision the one card
 * is drained after 10,000 approvals, so at ~2,000/s most of a 5 s run (after the 2 s warm-up) is
 * declines, which write less; raise it to measure approvals only.
 */
const LOAD_CENTS = flag('load-cents', 10_000);
/** Offered decisions per second (--rate), or undefined for the closed loop. */
const RATE = textFlag('rate') === undefined ? undefined : flag('rate', 1);
const CHARGE_CENTS = 1;

interface BenchCard {
  cardId: string;
  body: string;
}

async function seed(dbFile: string, key: Buffer, count: number): Promise<BenchCard[]> {
  const db = openDatabase(dbFile);
  await migrateToLatest(db);
  const cipher = new CardDataCipher(key);
  const index = new CardNetworkIndex(cipher);
  const now = Date.now();
  const cards: BenchCard[] = [];
  for (let i = 0; i < count; i++) {
    const cardId = randomUUID();
    const details = {
      cardNumber: `4000${String(i).padStart(12, '0')}`,
      expiryMonth: 12,
      expiryYear: 2035,
      cvv: String(100 + (i % 900)),
      billingAddress: { line1: '1 Bench St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
    };
    await insertCard(db, {
      id: cardId,
      agent_address: `GBENCH${i}`,
      owner_address: `GBENCH${i}`,
      name_on_card: `Bench ${i}`,
      email: `b${i}@bench.invalid`,
      status: 'active',
      details_revoked: 0,
      last_four: details.cardNumber.slice(-4),
      details_ciphertext: cipher.encrypt(cardId, details),
      provider_ref: `bench_${i}`,
      created_at: now,
      updated_at: now,
    });
    await index.add(db, { cardId, providerRef: `bench_${i}`, details, nowMs: now });
    await addLedgerEntry(db, { cardId, kind: 'initial_load', amountCents: LOAD_CENTS, paymentId: null, description: 'load', nowMs: now });
    const { billingAddress: _, ...presented } = details;
    const body = JSON.stringify({ ...presented, amount: (CHARGE_CENTS / 100).toFixed(2), currency: 'USD', merchant: { name: 'Bench Shop', mcc: '5734', country: 'US' } });
    cards.push({ cardId, body });
  }
  await db.destroy();
  return cards;
}

async function startServer(dbFile: string, key: Buffer): Promise<{ child: ChildProcess; url: string }> {
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(here, 'server.ts'), dbFile], {
    cwd: repoRoot,
    env: { ...process.env, CARD_DATA_KEY: key.toString('hex'), LOG_LEVEL: 'warn', DATA_DIR: path.dirname(dbFile) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface RunResult {
  rate: number;
  p50: number;
  p99: number;
  approved: number;
  declined: number;
  errors: number;
  /** CPU per decision, µs: the server process (all threads), its event-loop thread, the load generator (this process). */
  serverCpuUs: number;
  serverLoopUs: number;
  clientCpuUs: number;
}

const loadAverage = () => os.loadavg()[0]!.toFixed(2);

/** One request's outcome, read from the status line and the raw body (no JSON parse: the generator must stay cheap). */
type Outcome = 'approved' | 'declined' | 'error';

/**
 * Sends one prepared request through undici's dispatcher with a handler that only looks at the
 * status code and whether the body says approved: no body stream, no JSON parse, no per-request
 * objects beyond the handler, so the load generator's CPU stays small beside the server's.
 */
function send(pool: Pool, options: Dispatcher.DispatchOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = '';
    pool.dispatch(options, {
      onConnect() {},
      onHeaders(statusCode: number) {
        status = statusCode;
        return true;
      },
      onData(chunk: Buffer) {
        body += chunk.toString('latin1');
        return true;
      },
      onComplete() {
        resolve(status !== 201 ? 'error' : body.includes('"status":"approved"') ? 'approved' : 'declined');
      },
      onError: reject,
    });
  });
}

async function drive(url: string, serverPid: number, cards: BenchCard[], durationS: number): Promise<RunResult> {
  const pool = new Pool(url, { connections: CONNS, pipelining: 1 });
  const requests: Dispatcher.DispatchOptions[] = cards.map((card) => ({
    path: '/sandbox/authorizations',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(card.body)) },
    body: Buffer.from(card.body),
  }));
  const latencies = new Float64Array(2_000_000);
  let n = 0;
  let approved = 0;
  let declined = 0;
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + durationS * 1000;
  const record = (outcome: Outcome, latencyMs: number) => {
    latencies[n++] = latencyMs;
    if (outcome === 'approved') approved += 1;
    else if (outcome === 'declined') declined += 1;
    else errors += 1;
  };
  const lane = async () => {
    while (performance.now() < deadline) {
      const request = requests[next++ % requests.length]!;
      const started = performance.now();
      record(await send(pool, request), performance.now() - started);
    }
  };
  /** The open loop: request i is due at start + i / RATE; the pool queues it while all connections are busy. */
  const paced = async (rate: number) => {
    const start = performance.now();
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    while (performance.now() < deadline) {
      const now = performance.now();
      for (; start + (sent * 1000) / rate <= now; sent++) {
        const due = start + (sent * 1000) / rate;
        const request = requests[next++ % requests.length]!;
        const p = send(pool, request).then((outcome) => record(outcome, performance.now() - due));
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inFlight);
  };
  const started = performance.now();
  const server0 = processCpuUs(serverPid);
  const loop0 = processCpuUs(serverPid, true);
  const client0 = process.cpuUsage();
  if (RATE === undefined) await Promise.all(Array.from({ length: CONNS }, lane));
  else await paced(RATE);
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(client0);
  const serverCpuUs = (processCpuUs(serverPid) - server0) / n;
  const serverLoopUs = (processCpuUs(serverPid, true) - loop0) / n;
  const clientCpuUs = (client.user + client.system) / n;
  await pool.close();
  const sorted = Array.from(latencies.subarray(0, n)).sort((a, b) => a - b);
  return { rate: n / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), approved, declined, errors, serverCpuUs, serverLoopUs, clientCpuUs };
}

/** Zero overspends: every card's available ≥ 0, and what it held and captured ≤ what it was loaded with. */
async function overspends(dbFile: string, cards: BenchCard[]): Promise<number> {
  const db = openDatabase(dbFile);
  let bad = 0;
  for (const card of cards) {
    const funds = await cardFunds(db, card.cardId);
    const spent = await db
      .selectFrom('card_authorizations')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb('held_cents', '+', eb.ref('captured_cents'))), eb.lit(0)).as('s'))
      .where('card_id', '=', card.cardId)
      .executeTakeFirstOrThrow();
    if (funds.availableCents < 0 || Number(spent.s) > LOAD_CENTS || funds.availableCents + funds.heldCents !== LOAD_CENTS) bad += 1;
  }
  await db.destroy();
  return bad;
}

async function scenario(name: 'one' | 'spread'): Promise<void> {
  const results: RunResult[] = [];
  let overspent = 0;
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-bench-auth-'));
    const dbFile = path.join(dir, 'bench.sqlite');
    const key = randomBytes(32);
    const cards = await seed(dbFile, key, name === 'one' ? 1 : CARDS);
    const server = await startServer(dbFile, key);
    try {
      const warmup = await drive(server.url, server.child.pid!, cards, Math.min(2, DURATION_S));
      const result = await drive(server.url, server.child.pid!, cards, DURATION_S);
      results.push(result);
      // A profile covers the server's whole life: per-decision figures divide by all it answered.
      if (process.env['BENCH_CPU_PROF']) console.log(`server pid ${server.child.pid} answered ${warmup.approved + warmup.declined + warmup.errors + result.approved + result.declined + result.errors} requests (warm-up included)`);
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    overspent += await overspends(dbFile, cards);
    rmSync(dir, { recursive: true, force: true });
  }
  const r = (f: (x: RunResult) => number) => median(results.map(f));
  console.log(
    [
      name === 'one' ? 'one card' : `${CARDS} cards`,
      `${r((x) => x.rate).toFixed(0)} decisions/s`,
      `p50 ${r((x) => x.p50).toFixed(2)} ms`,
      `p99 ${r((x) => x.p99).toFixed(2)} ms`,
      `approved ${r((x) => x.approved)}`,
      `declined ${r((x) => x.declined)}`,
      `errors ${r((x) => x.errors)}`,
      `overspent cards ${overspent}`,
      `server CPU ${r((x) => x.serverCpuUs).toFixed(0)} µs/decision (event loop ${r((x) => x.serverLoopUs).toFixed(0)})`,
      `load generator CPU ${r((x) => x.clientCpuUs).toFixed(0)} µs/request`,
      `runs ${results.map((x) => x.rate.toFixed(0)).join('/')}/s`,
    ].join(' | '),
  );
}

console.log(`POST /sandbox/authorizations, ${CONNS} connections, ${RATE === undefined ? 'closed loop' : `${RATE} offered/s`}, ${DURATION_S} s per run, ${RUNS} run(s), ${os.cpus().length} CPUs, load average ${loadAverage()}`);
if (ONLY !== 'spread') await scenario('one');
if (ONLY !== 'one') await scenario('spread');
console.log(`load average at the end ${loadAverage()}`);
