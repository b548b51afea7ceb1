// card402 as its own process for bench/paid.ts: same createApp and payment stack as production,
// SQLite file in a temp DATA_DIR, keys generated and funded through the ledger's friendbot over HTTP.
// Reports its own CPU usage over IPC so the bench can attribute server CPU per paid card.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { createApp } from '../src/app.js';
import { SandboxIssuer } from '../src/cards/sandbox-issuer.js';
import { RedeemTokens } from '../src/cards/sessions/redeem-tokens.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openDatabase } from '../src/db/open.js';
import { serveHttp } from '../src/http/kernel/serve.js';
import { benchLogger } from './logger.js';
import { buildPaymentStack, loadCardDataCipher, startPaymentRuntime } from '../src/payments/wiring.js';
import { loadStellarKeys } from '../src/stellar/keys.js';

const config = loadConfig(process.env);
const logger = await benchLogger(config.logLevel, (line) => process.stderr.write(line + '\n'));
const friendbot = process.env['BENCH_FRIENDBOT_URL']!;
const keys = loadStellarKeys(config, logger);
for (const kp of [keys.treasury, ...keys.channels]) {
  await fetch(`${friendbot}?addr=${kp.publicKey()}`);
}
await fetch(`${friendbot}?addr=${keys.treasury.publicKey()}&asset=USDC&amount=0`);

const db = openDatabase(path.join(config.dataDir, 'bench.sqlite'));
await migrateToLatest(db);
const cardCipher = loadCardDataCipher(config, logger);
const stack = buildPaymentStack({
  config,
  db,
  clock: systemClock,
  logger,
  keys,
  rpcUrl: config.stellar.rpcUrl!,
  issuer: new SandboxIssuer({ db, clock: systemClock, cipher: cardCipher, capacityCents: config.issuer.capacityCents }),
  cipher: cardCipher,
});
// As production runs: start-up recovery, then the reconciler in the background.
const runtime = await startPaymentRuntime(stack.service, config, logger);
const app = createApp({ config, db, clock: systemClock, logger, cardCipher, redeemTokens: new RedeemTokens({ current: randomBytes(32) }), paymentTerms: stack.terms, payments: stack.service });
const { server, port } = await serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1' });
process.send!({ ready: `http://127.0.0.1:${port}` });
// BENCH_CPU_PROF=dir: a CPU profile of the measured cards only (the bench reads the CPU before the
// warm-up, after it, and at the end: the profile runs from the second reading to the third), so V8's
// warm-up compiling does not blur where steady-state time goes.
const profileDir = process.env['BENCH_CPU_PROF'];
const profiler = profileDir ? new Session() : undefined;
let cpuReadings = 0;
async function toggleProfile(): Promise<void> {
  if (!profiler) return;
  if (cpuReadings === 2) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  } else if (cpuReadings === 3) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(path.join(profileDir!, `paid-server-${process.pid}.cpuprofile`), JSON.stringify(profile));
  }
}
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** CPU of the event-loop thread alone (its tid is the pid), in µs; NaN where /proc is missing. */
function eventLoopCpuUs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
  } catch {
    return NaN;
  }
}
process.on('message', (message) => {
  if (message === 'cpu') {
    cpuReadings += 1;
    const cpu = { ...process.cpuUsage(), eventLoopUs: eventLoopCpuUs() };
    void toggleProfile().then(() => process.send!({ cpu }));
  }
  if (message === 'stop') server.close(() => void runtime.stop().then(() => db.destroy()).then(() => process.exit(0)));
});
