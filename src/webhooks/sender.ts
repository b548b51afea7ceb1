import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPublicAddress } from './address-guard.js';

export type SendResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/** How much of a receiver's answer is read (and then ignored): its status is what counts. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs one webhook: through `guardedLookup` (the address is checked after resolution and is the
 * one connected to), never following a redirect (a 3xx is a failure), within `timeoutMs`. Success
 * is a 2xx answer.
 */
export function postWebhook(url: string, body: string, headers: Record<string, string>, opts: { timeoutMs: number; allowPrivate: boolean }): Promise<SendResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve({ ok: false, statusCode: null, error: 'invalid_url' });
    }
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
    if (!client) return resolve({ ok: false, statusCode: null, error: 'unsupported_scheme' });
    // An IP literal is connected to without any lookup: it is checked here instead.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !opts.allowPrivate && !isPublicAddress(literal)) return resolve({ ok: false, statusCode: null, error: 'blocked_address' });
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), 'User-Agent': 'card402-webhooks' },
        lookup: guardedLookup(opts.allowPrivate) as never,
        timeout: opts.timeoutMs,
        agent: false,
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) response.destroy();
        });
        const status = response.statusCode ?? 0;
        const done = () =>
          resolve(status >= 200 && status < 300 ? { ok: true, statusCode: status } : { ok: false, statusCode: status, error: status >= 300 && status < 400 ? 'redirect_not_followed' : `http_${status}` });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    request.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, statusCode: null, error: errorLabel(err) }));
    request.end(body);
  });
}

/** A short, safe description of a network failure (no URL, no secret). */
function errorLabel(err: NodeJS.ErrnoException): string {
  if (err.code === 'EBLOCKEDADDRESS') return 'blocked_address';
  if (err.code === 'ETIMEDOUT') return 'timeout';
  return err.code ? err.code.toLowerCase() : 'network_error';
}
