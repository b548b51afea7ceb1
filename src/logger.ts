/**
 * Structured JSON-lines logger. Everything passes through `redact` so that card data, keys,
 * signatures and payment headers cannot reach a log line even if a caller passes them by mistake.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Field names whose values are never logged, compared without case, dashes or underscores. */
const SECRET_FIELD_NAMES = new Set(
  [
    'cardNumber', 'pan', 'number', 'cvv', 'cvc', 'expiry', 'expiryMonth', 'expiryYear', 'billingAddress',
    'details', 'detailsEnvelope', 'secret', 'secretKey', 'seed', 'privateKey', 'key', 'password', 'token',
    'signature', 'authorization', 'cookie', 'payment', 'paymentPayload', 'paymentSignature', 'xPayment',
    'xWalletSignature', 'paymentRequired', 'paymentResponse', 'transaction', 'xdr', 'envelopeXdr', 'authEntry',
  ].map(normaliseName),
);

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

export const REDACTED = '[redacted]';
/** Stellar secret seeds and long digit runs (card numbers) are scrubbed from free text too. */
const SECRET_PATTERNS = [/\bS[A-Z2-7]{55}\b/g, /\b\d{12,19}\b/g];

export function redactText(text: string): string {
  return SECRET_PATTERNS.reduce((out, pattern) => out.replace(pattern, REDACTED), text);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value && typeof value === 'object') {
    const out: Fields = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_FIELD_NAMES.has(normaliseName(key)) ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

export function createLogger(opts: { level: LogLevel; write?: (line: string) => void; base?: Fields }): Logger {
  const threshold = LEVEL_RANK[opts.level];
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields) => {
    if (LEVEL_RANK[level] < threshold) return;
    const record = { time: new Date().toISOString(), level, msg: redactText(msg), ...opts.base, ...(redact(fields ?? {}) as Fields) };
    write(JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** Collects lines in memory; tests use it to prove what was (not) logged. */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ level, write: (line) => lines.push(line) }), { lines });
}
