/**
 * The logger the benchmark servers use. Default: card402's createLogger, as in production. With
 * BENCH_LOG_SINK set (a file, e.g. /dev/null), lines go there with a synchronous write, so the
 * access log can be measured switched on; BENCH_LOGGER=pino swaps in pino (loaded from the module
 * path in BENCH_PINO_MODULE: pino is not a dependency) with the same redaction (our redact() as its
 * log formatter) and the same fields, to compare the two for the same lines (BENCHMARKS.md).
 */
import { openSync, writeSync } from 'node:fs';
import { createLogger, redact, redactText, type Logger, type LogLevel } from '../src/logger.js';

type Fields = Record<string, unknown>;

export async function benchLogger(level: LogLevel, defaultWrite?: (line: string) => void): Promise<Logger> {
  const sink = process.env['BENCH_LOG_SINK'];
  if (!sink) return createLogger({ level, write: defaultWrite });
  if (process.env['BENCH_LOGGER'] !== 'pino') {
    const fd = openSync(sink, 'a');
    return createLogger({ level, write: (line) => writeSync(fd, line + '\n') });
  }
  const modulePath = process.env['BENCH_PINO_MODULE'];
  if (!modulePath) throw new Error('BENCH_LOGGER=pino needs BENCH_PINO_MODULE (path to an installed pino)');
  const { default: pino } = (await import(modulePath)) as { default: any };
  const log = pino(
    {
      level: level === 'silent' ? 'silent' : level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }), log: (fields: Fields) => redact(fields) as Fields },
    },
    pino.destination({ dest: sink, sync: true }),
  );
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, redactText(msg)),
    info: (msg, fields) => log.info(fields ?? {}, redactText(msg)),
    warn: (msg, fields) => log.warn(fields ?? {}, redactText(msg)),
    error: (msg, fields) => log.error(fields ?? {}, redactText(msg)),
  };
}
