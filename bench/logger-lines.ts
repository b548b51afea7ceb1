// bench/logger-lines: the cost of one access-log line, card402's logger vs pino, same fields, same
// redaction, both writing synchronously to BENCH_LOG_SINK (default /dev/null). CPU time per line
// (process.cpuUsage), so the number holds on a busy machine; rounds alternate between the two.
//   BENCH_PINO_MODULE=/path/to/pino/pino.js npx tsx bench/logger-lines.ts   (env: LINES, ROUNDS)
import { randomUUID } from 'node:crypto';
import { benchLogger } from './logger.js';

const LINES = Number(process.env['LINES'] ?? 50_000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 7);
process.env['BENCH_LOG_SINK'] ??= '/dev/null';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const loggers = { ours: await (async () => { process.env['BENCH_LOGGER'] = 'ours'; return benchLogger('info'); })(),
  pino: await (async () => { process.env['BENCH_LOGGER'] = 'pino'; return benchLogger('info'); })() };
const ids = Array.from({ length: 1024 }, () => randomUUID());
const cardPath = `/cards/${randomUUID()}/details`;

function run(name: keyof typeof loggers): number {
  const log = loggers[name];
  const before = process.cpuUsage();
  for (let i = 0; i < LINES; i++) {
    log.info('request', { requestId: ids[i & 1023], method: 'GET', path: cardPath, status: 200, durationMs: i % 7 });
  }
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / LINES; // ns per line
}

run('ours');
run('pino'); // warm-up
const results: Record<string, number[]> = { ours: [], pino: [] };
const orders: (keyof typeof loggers)[][] = [['ours', 'pino'], ['pino', 'ours']];
for (let r = 0; r < ROUNDS; r++) for (const name of orders[r % 2]!) results[name]!.push(run(name));
const ours = median(results['ours']!);
const pino = median(results['pino']!);
process.stdout.write(`${LINES} lines x ${ROUNDS} rounds, CPU ns/line (median): ours ${ours.toFixed(0)}, pino ${pino.toFixed(0)}, pino/ours ${(pino / ours).toFixed(2)}\n`);
process.stdout.write(`rounds ours: ${results['ours']!.map((x) => x.toFixed(0)).join(', ')}; pino: ${results['pino']!.map((x) => x.toFixed(0)).join(', ')}\n`);
