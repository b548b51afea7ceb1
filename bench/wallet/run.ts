/**
 * Wallet-signed reads over real HTTP, Node's built-in Ed25519 vs tweetnacl, in one run.
 *
 *   npm run bench:wallet [-- --duration 5 --runs 3 --conns 16 --latency-conns 1 --wallets 1000]
 *
 * For each verifier it seeds a fresh SQLite file (one card per wallet, encrypted with the real
 * cipher), starts the real createApp() in its own process, and drives it with wrk (one thread,
 * keep-alive) from pre-signed requests:
 *   - GET /cards: ASG v1 raw signatures, one per wallet (re-usable for reads, as in ASG);
 *   - GET /cards/:id/details: v2 request-bound signatures, each with a fresh X-AGENT-NONCE, used
 *     exactly once. The per-card hourly nonce limit (5) is raised for this run only, otherwise
 *     a few thousand requests would need a few thousand cards: everything else (auth, single-use
 *     signature store, nonce check-and-spend transaction, decrypt, audit row) runs as in production.
 *   - GET /cards/:id/details sealed: the same with X-AGENT-PUBKEY, so the answer is a nacl.box to
 *     that key (an X25519 key agreement and XSalsa20-Poly1305 per answer) instead of plain JSON;
 *   - POST /card-sessions/:id/redeem: X-Scoped-Token only (HS256 verification, the session's
 *     check-and-count transaction through the same card data gate, a redemption row). The runner
 *     signs the tokens with the server's CARD_SESSION_TOKEN_SECRET and stores the sessions as the
 *     API does (only the tokens' hashes), ten redemptions each, before each run.
 * A further scenario, GET /pricing (static JSON: no signature, no database), is the ceiling that
 * HTTP + hono alone allow on the machine. Each scenario runs `runs` times; the table shows medians.
 * When taskset exists, wrk runs on cpu0 and the server on --server-cpus (default both cores).
 * Options: --only list|details|sealed|redeem|pricing, --verifier node|tweetnacl, --server-cpus, and the numbers
 * above; BENCH_CPU_PROF=dir writes the servers' CPU profiles. Requires wrk (apt-get install wrk).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keypair } from '@stellar/stellar-sdk';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { RedeemTokens, redeemTokenHash } from '../../src/cards/sessions/redeem-tokens.js';
import { insertCardSession } from '../../src/cards/sessions/repository.js';
import { AGENT_PUBKEY_HEADER, agentKeyPair, encodeAgentPublicKey } from '../../src/protocol/sealed.js';
import { addLedgerEntry, insertCard } from '../../src/cards/repository.js';
import { secretSeedSigner, walletAuthHeadersV1, walletAuthHeadersV2, type WalletSigner } from '../../src/client/wallet-auth.js';
import { migrateToLatest, openDatabase } from '../../src/db/open.js';
import { createVerifier, type VerifierName } from './tweetnacl-verifier.js';
import { processCpuUs } from '../process-cpu.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** A string option, e.g. `--only cards`; undefined when absent. */
function textFlag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const DURATION_S = flag('duration', 5);
/** Run one scenario only: `--only pricing`, `--only list` (GET /cards), `--only details`, `--only sealed` or `--only redeem`. */
const ONLY = textFlag('only');
/** Run only this verifier (`--verifier node`); default: both, side by side. */
const ONLY_VERIFIER = textFlag('verifier');
const RUNS = flag('runs', 3);
const CONNS = flag('conns', 16);
const LATENCY_CONNS = flag('latency-conns', 1);
const WALLETS = flag('wallets', 1000);
/** Upper bound on req/s per verifier, to pre-sign enough single-use details requests. */
const MAX_RATE: Record<VerifierName, number> = { node: 15_000, tweetnacl: 2_000 };
/**
 * CPUs the server may use (taskset list). Default "0,1": the whole 2-core machine, so Node's
 * thread pool (where Ed25519 verifications run) can use the core the event loop is not on.
 * `--server-cpus 1` confines the server to one core, as wrk is confined to cpu0.
 */
const SERVER_CPUS = textFlag('server-cpus') ?? '0,1';
const HAS_TASKSET = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------- verify microbenchmark

/** Verifications per second in this process, 8 in flight (Node's run on libuv's thread pool). */
async function verifyRate(name: VerifierName): Promise<number> {
  const verifier = createVerifier(name);
  const kp = Keypair.random();
  const message = Buffer.from(`asgcard-auth:${Math.floor(Date.now() / 1000)}`);
  const signature = kp.sign(message);
  const pk = kp.rawPublicKey();
  const iterations = name === 'node' ? 20_000 : 1_000;
  const run = async (count: number) => {
    const lane = async () => {
      for (let i = 0; i < count / 8; i++) if (!(await verifier.verify(pk, message, signature))) throw new Error('verify failed');
    };
    await Promise.all(Array.from({ length: 8 }, lane));
  };
  await run(iterations / 10); // warm up
  const started = process.hrtime.bigint();
  await run(iterations);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return iterations / seconds;
}

// ---------------------------------------------------------------- fixtures

interface Wallet {
  signer: WalletSigner;
  cardId: string;
}

async function seed(dbFile: string, key: Buffer, wallets: { secret: string }[]): Promise<Wallet[]> {
  const db = openDatabase(dbFile);
  await migrateToLatest(db);
  const cipher = new CardDataCipher(key);
  const out: Wallet[] = [];
  const now = Date.now();
  for (const [i, w] of wallets.entries()) {
    const signer = secretSeedSigner(w.secret);
    const cardId = randomUUID();
    await insertCard(db, {
      id: cardId,
      agent_address: signer.publicKey(),
      owner_address: signer.publicKey(),
      name_on_card: `Bench Agent ${i}`,
      email: `agent${i}@bench.invalid`,
      status: 'active',
      details_revoked: 0,
      last_four: String(1000 + (i % 9000)),
      details_ciphertext: cipher.encrypt(cardId, {
        cardNumber: `4000${String(i).padStart(12, '0')}`,
        expiryMonth: 12,
        expiryYear: 2030,
        cvv: String(100 + (i % 900)),
        billingAddress: { line1: '1 Bench St', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' },
      }),
      provider_ref: `bench_${i}`,
      created_at: now,
      updated_at: now,
    });
    await addLedgerEntry(db, { cardId, kind: 'initial_load', amountCents: 10_000, paymentId: null, description: 'load', nowMs: now });
    out.push({ signer, cardId });
  }
  await db.destroy();
  return out;
}

function requestLine(method: string, urlPath: string, headers: Record<string, string>): string {
  return [method, urlPath, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\t');
}

function listRequests(wallets: Wallet[]): string[] {
  const ts = Math.floor(Date.now() / 1000);
  return wallets.map((w) => requestLine('GET', '/cards', walletAuthHeadersV1(w.signer, { timestamp: ts })));
}

function detailsRequests(wallets: Wallet[], count: number): string[] {
  const ts = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = wallets[i % wallets.length]!;
    const urlPath = `/cards/${w.cardId}/details`;
    const headers = { ...walletAuthHeadersV2(w.signer, { method: 'GET', url: urlPath }, { timestamp: ts }), 'X-AGENT-NONCE': randomUUID() };
    lines.push(requestLine('GET', urlPath, headers));
  }
  return lines;
}

/** The same details requests, asking for the answer sealed to one agent key (the server seals each afresh). */
function sealedDetailsRequests(wallets: Wallet[], count: number): string[] {
  const pubkey = encodeAgentPublicKey(agentKeyPair().publicKey);
  return detailsRequests(wallets, count).map((line) => `${line}\t${AGENT_PUBKEY_HEADER}: ${pubkey}`);
}

/** Redemptions allowed per seeded session (Flowglad's maximum). */
const REDEEMS_PER_SESSION = 10;

/**
 * Card sessions stored as POST /cards/:id/sessions stores them (the token's hash only), with tokens
 * signed by the server's secret, then `count` redeem requests spread across them.
 */
async function redeemRequests(dbFile: string, tokenSecret: Buffer, wallets: Wallet[], count: number): Promise<string[]> {
  const sessions = Math.ceil(count / REDEEMS_PER_SESSION);
  const tokens = new RedeemTokens({ current: tokenSecret });
  const db = openDatabase(dbFile);
  const now = Date.now();
  const expiresAtMs = now + 3_600_000;
  const seeded: { id: string; token: string }[] = [];
  for (let i = 0; i < sessions; i++) {
    const w = wallets[i % wallets.length]!;
    const id = `cs_${randomBytes(16).toString('hex')}`;
    const token = await tokens.sign({ sessionId: id, cardId: w.cardId, wallet: w.signer.publicKey(), issuedAtMs: now, expiresAtMs });
    seeded.push({ id, token });
  }
  await db.transaction().execute(async (trx) => {
    for (const [i, { id, token }] of seeded.entries()) {
      const w = wallets[i % wallets.length]!;
      await insertCardSession(trx, { id, cardId: w.cardId, createdBy: w.signer.publicKey(), maxRedeemCount: REDEEMS_PER_SESSION, tokenHash: redeemTokenHash(token), expiresAtMs, nowMs: now });
    }
  });
  await db.destroy();
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const { id, token } = seeded[i % sessions]!;
    lines.push(requestLine('POST', `/card-sessions/${id}/redeem`, { 'X-Scoped-Token': token }));
  }
  return lines;
}

// ---------------------------------------------------------------- processes

async function startServer(verifier: VerifierName, dbFile: string, key: Buffer, tokenSecret: Buffer): Promise<{ child: ChildProcess; port: number }> {
  const tsxLoader = path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs');
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  const args = [...profile, '--import', tsxLoader, path.join(here, 'server.ts'), verifier, dbFile];
  const cmd = HAS_TASKSET ? 'taskset' : process.execPath;
  const cmdArgs = HAS_TASKSET ? ['-c', SERVER_CPUS, process.execPath, ...args] : args;
  const child = spawn(cmd, cmdArgs, {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      CARD_DATA_KEY: key.toString('hex'),
      CARD_SESSION_TOKEN_SECRET: tokenSecret.toString('hex'),
      LOG_LEVEL: process.env['BENCH_LOG_SINK'] ? 'info' : 'silent',
      DETAILS_NONCES_PER_WINDOW: '1000000000',
      DATA_DIR: path.dirname(dbFile),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  return { child, port };
}

interface WrkResult {
  rps: number;
  /** Server CPU (user + system) per request over the run, from /proc: load-independent cost. */
  cpuUsPerRequest: number;
  /** The same for the server's event-loop thread alone: 10⁶ / this bounds req/s. */
  loopCpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) throw new Error(`cannot parse wrk latency ${value}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}


function runWrk(port: number, conns: number, requestsFile: string, serverPid: number): WrkResult {
  const cpuBefore = processCpuUs(serverPid);
  const loopCpuBefore = processCpuUs(serverPid, true);
  const wrkArgs = ['-t1', `-c${conns}`, `-d${DURATION_S}s`, '--timeout', '10s', '--latency', '-s', path.join(here, 'requests.lua'), `http://127.0.0.1:${port}`, '--', requestsFile, '1'];
  const out = HAS_TASKSET
    ? execFileSync('taskset', ['-c', '0', 'wrk', ...wrkArgs], { encoding: 'utf8' })
    : execFileSync('wrk', wrkArgs, { encoding: 'utf8' });
  const grab = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`unexpected wrk output:\n${out}`);
    return m[1]!;
  };
  const cpuUs = processCpuUs(serverPid) - cpuBefore;
  const loopCpuUs = processCpuUs(serverPid, true) - loopCpuBefore;
  const errorsLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(grab(/Requests\/sec:\s+([\d.]+)/)),
    cpuUsPerRequest: cpuUs / Number(grab(/(\d+) requests in/)),
    loopCpuUsPerRequest: loopCpuUs / Number(grab(/(\d+) requests in/)),
    p50Ms: toMs(grab(/\s50%\s+(\S+)/)),
    p99Ms: toMs(grab(/\s99%\s+(\S+)/)),
    requests: Number(grab(/(\d+) requests in/)),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: errorsLine ? errorsLine.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

// ---------------------------------------------------------------- main

/** `wrk --version` prints its banner and exits 1; take the banner either way. */
function wrkVersionLine(): string {
  try {
    return execFileSync('wrk', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    if (!out.startsWith('wrk')) throw new Error('wrk is required: apt-get install -y wrk');
    return out.split('\n')[0]!.trim();
  }
}

interface Row {
  scenario: string;
  verifier: VerifierName;
  conns: number;
  rps: number;
  cpuUsPerRequest: number;
  loopCpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  bad: number;
}

/** The side-by-side table for BENCHMARKS.md (only when both verifiers ran). */
function printComparison(rows: Row[]): void {
  process.stdout.write('\n| scenario | conns | node req/s | tweetnacl req/s | ratio | node server CPU µs/req (→ req/s per core) | node p50 / p99 (ms) | tweetnacl p50 / p99 (ms) | non-2xx |\n');
  process.stdout.write('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
  for (const n of rows.filter((r) => r.verifier === 'node')) {
    const t = rows.find((r) => r.verifier === 'tweetnacl' && r.scenario === n.scenario && r.conns === n.conns)!;
    process.stdout.write(
      `| ${n.scenario} | ${n.conns} | ${Math.round(n.rps)} | ${Math.round(t.rps)} | ${(n.rps / t.rps).toFixed(1)}x | ${Math.round(n.cpuUsPerRequest)} (${Math.round(1e6 / n.cpuUsPerRequest)}) | ` +
        `${n.p50Ms.toFixed(2)} / ${n.p99Ms.toFixed(2)} | ${t.p50Ms.toFixed(2)} / ${t.p99Ms.toFixed(2)} | ${n.bad + t.bad} |\n`,
    );
  }
}

async function main() {
  const cpus = os.cpus();
  const wrkVersion = wrkVersionLine();
  process.stdout.write(
    `# card402 wallet bench — ${new Date().toISOString()}\n` +
      `machine: ${cpus.length} x ${cpus[0]?.model ?? 'unknown'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}\n` +
      `node ${process.version}, ${wrkVersion}, pinned: ${HAS_TASKSET ? `wrk on cpu0, server on cpu ${SERVER_CPUS}` : 'no'}\n` +
      `runs ${RUNS} x ${DURATION_S}s per scenario; ${WALLETS} wallets with one card each; load average at start ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n\n`,
  );

  const verifiers = (['node', 'tweetnacl'] as const).filter((v) => !ONLY_VERIFIER || v === ONLY_VERIFIER);
  if (verifiers.length === 0) throw new Error('--verifier must be node or tweetnacl');
  const verifyRates: string[] = [];
  for (const v of verifiers) {
    const rates: number[] = [];
    for (let run = 0; run < RUNS; run++) rates.push(await verifyRate(v));
    verifyRates.push(`${v} ${Math.round(median(rates))}/s`);
  }
  process.stdout.write(`Ed25519 verify, in process (median of ${RUNS}): ${verifyRates.join(', ')}\n\n`);

  const walletSecrets = Array.from({ length: WALLETS }, () => ({ secret: Keypair.random().secret() }));
  // Both servers run side by side (each on the server core; only one is driven at a time), and
  // their runs alternate, so a change in machine load hits both verifiers alike.
  interface Server {
    verifier: VerifierName;
    dir: string;
    dbFile: string;
    tokenSecret: Buffer;
    wallets: Wallet[];
    child: ChildProcess;
    port: number;
  }
  const servers: Server[] = [];
  const rows: Row[] = [];
  try {
    for (const verifier of verifiers) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `card402-bench-${verifier}-`));
      const key = randomBytes(32);
      const dbFile = path.join(dir, 'card402.sqlite');
      const wallets = await seed(dbFile, key, walletSecrets);
      const tokenSecret = randomBytes(32);
      const { child, port } = await startServer(verifier, dbFile, key, tokenSecret);
      servers.push({ verifier, dir, dbFile, tokenSecret, wallets, child, port });
    }
    const scenarios = [
      ['GET /pricing (unsigned baseline)', CONNS, 'pricing'],
      ['GET /cards', CONNS, 'list'],
      ['GET /cards', LATENCY_CONNS, 'list'],
      ['GET /cards/:id/details', CONNS, 'details'],
      ['GET /cards/:id/details', LATENCY_CONNS, 'details'],
      ['GET /cards/:id/details sealed', CONNS, 'sealed'],
      ['GET /cards/:id/details sealed', LATENCY_CONNS, 'sealed'],
      ['POST /card-sessions/:id/redeem', CONNS, 'redeem'],
      ['POST /card-sessions/:id/redeem', LATENCY_CONNS, 'redeem'],
    ] as const;
    for (const [scenario, conns, key] of scenarios.filter(([, , key]) => !ONLY || key === ONLY)) {
      const results = new Map<VerifierName, WrkResult[]>(verifiers.map((v) => [v, []]));
      for (let run = 0; run < RUNS; run++) {
        for (const server of servers) {
          const file = path.join(server.dir, 'requests.tsv');
          const count = Math.ceil(MAX_RATE[server.verifier] * DURATION_S * 1.2);
          const lines =
            key === 'list'
              ? listRequests(server.wallets)
              : key === 'details'
                ? detailsRequests(server.wallets, count)
                : key === 'sealed'
                  ? sealedDetailsRequests(server.wallets, count)
                  : key === 'redeem'
                    ? await redeemRequests(server.dbFile, server.tokenSecret, server.wallets, count)
                    : [requestLine('GET', '/pricing', {})];
          writeFileSync(file, lines.join('\n') + '\n');
          results.get(server.verifier)!.push(runWrk(server.port, conns, file, server.child.pid!));
        }
      }
      for (const verifier of verifiers) {
        const rs = results.get(verifier)!;
        const row: Row = {
          scenario,
          verifier,
          conns,
          rps: median(rs.map((r) => r.rps)),
          cpuUsPerRequest: median(rs.map((r) => r.cpuUsPerRequest)),
          loopCpuUsPerRequest: median(rs.map((r) => r.loopCpuUsPerRequest)),
          p50Ms: median(rs.map((r) => r.p50Ms)),
          p99Ms: median(rs.map((r) => r.p99Ms)),
          requests: rs.reduce((a, r) => a + r.requests, 0),
          bad: rs.reduce((a, r) => a + r.non2xx + r.errors, 0),
        };
        rows.push(row);
        process.stdout.write(
          `  ${verifier.padEnd(9)} ${scenario.padEnd(32)} c=${String(conns).padEnd(3)} ${Math.round(row.rps)} req/s  CPU/req ${Math.round(row.cpuUsPerRequest)} µs (event loop ${Math.round(row.loopCpuUsPerRequest)})  ` +
            `p50 ${row.p50Ms.toFixed(2)} ms  p99 ${row.p99Ms.toFixed(2)} ms  (runs: ${rs.map((r) => Math.round(r.rps)).join(', ')} req/s)  non-2xx/errors ${row.bad}\n`,
        );
      }
    }
  } finally {
    for (const server of servers) {
      if (server.child.exitCode === null) {
        const exited = new Promise((resolve) => server.child.once('exit', resolve));
        server.child.kill('SIGTERM');
        await exited;
      }
      rmSync(server.dir, { recursive: true, force: true });
    }
  }

  if (verifiers.length === 2) printComparison(rows);
  process.stdout.write(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  if (rows.some((r) => r.bad > 0)) {
    process.stdout.write('\nWARNING: some requests were not 2xx (see above); those runs are not valid measurements.\n');
    process.exitCode = 1;
  }
}

await main();
