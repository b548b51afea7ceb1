import { createHmac, randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import type { IdempotencyKeyRow } from '../../db/schema.js';
import type { AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { requestHeader } from '../kernel/request-header.js';
import { claimNewKey, findKey, releaseKey, storeAnswer, takeOverKey, type Claim, type IdempotencyKeyId } from './repository.js';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set on an answer that repeats the stored first answer instead of running the write again. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** 1–255 visible ASCII characters (a UUID is the usual choice), as the paid routes accept. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a key and its first answer are kept. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/**
 * How long a request may hold a key while it runs. A duplicate arriving meanwhile is answered 409
 * `IDEMPOTENCY_KEY_IN_USE`; a claim older than this belongs to a process that died, and the next
 * request with the key runs the write again (every write behind this middleware is safe to repeat:
 * it sets a state, or, like closing a card, finds its own earlier work and answers it).
 */
export const IDEMPOTENCY_LEASE_MS = 120_000;
/** Retry-After (seconds) on `IDEMPOTENCY_KEY_IN_USE`. */
export const IN_USE_RETRY_AFTER_SECONDS = 1;

/**
 * What the middleware reads of a wallet-signed route: wallet auth publishes `c.get('wallet')`
 * (src/wallet-auth). Written structurally so the HTTP layer below needs no import of wallet auth.
 */
export interface IdempotencyEnv extends AppEnv {
  Variables: AppEnv['Variables'] & { wallet?: { address: string } };
}

export interface IdempotencyOptions {
  db: Db;
  clock: Clock;
  /**
   * HMAC key for request fingerprints: a body may hold card data (sandbox authorizations), so it is
   * never stored, not even as a plain hash. app.ts derives it from the card data key.
   */
  fingerprintKey: Uint8Array;
  ttlMs?: number;
  leaseMs?: number;
}

/** The caller a key belongs to: the signing wallet on wallet-signed routes, the client IP otherwise. */
function callerScope(c: Context<IdempotencyEnv>): string {
  const wallet = c.get('wallet');
  return wallet ? `wallet:${wallet.address}` : `ip:${c.get('clientIp')}`;
}

/** Whether an answer is the write's outcome (kept and repeated) or a passing condition (the key is given back). */
function isFinalAnswer(status: number): boolean {
  return status < 500 && status !== 429;
}

function replay(row: IdempotencyKeyRow): Response {
  const headers: Record<string, string> = { [IDEMPOTENT_REPLAYED_HEADER]: 'true' };
  if (row.response_content_type) headers['Content-Type'] = row.response_content_type;
  return new Response(row.response_body ?? '', { status: row.response_status ?? 200, headers });
}

/**
 * `Idempotency-Key` on a write (docs/ARCHITECTURE.md, "Idempotent writes"). Mount it after wallet
 * auth on the route (`routes.delete(path, authSingleUse, idempotent, handler)`), so the key is
 * scoped to the signing wallet. Without the header the request runs as usual. With it:
 *
 * - the key is scoped to (caller, method, route pattern) and kept 24 h (by the injected clock);
 * - the same key with the same method, path and body returns the first answer (status and body,
 *   byte for byte, plus `Idempotent-Replayed: true`) without running the handler again;
 * - the same key with another path or body is 422 `IDEMPOTENCY_KEY_MISMATCH`;
 * - a duplicate arriving while the first still runs is 409 `IDEMPOTENCY_KEY_IN_USE` (Retry-After 1):
 *   it never runs twice, and never waits holding a connection;
 * - an answer ≥ 500, or 429, is not kept: the key is given back and a retry runs the write.
 *
 * Storage rule: the request body is never stored (only an HMAC of method, path and body); the first
 * answer is stored as plain text, so this middleware goes only on writes whose answers hold no card
 * data (freeze, unfreeze, revoke, restore, close, controls, sandbox network writes). A write that
 * answers card data must not use it.
 */
export function idempotency(opts: IdempotencyOptions): MiddlewareHandler<IdempotencyEnv> {
  const ttlMs = opts.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const leaseMs = opts.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  if (!(ttlMs > 0) || !(leaseMs > 0)) throw new RangeError('idempotency ttlMs and leaseMs must be positive');
  if (opts.fingerprintKey.length < 32) throw new RangeError('idempotency fingerprintKey must be at least 32 bytes');
  const fingerprintKey = Buffer.from(opts.fingerprintKey);
  const { db, clock } = opts;

  return async function idempotencyMiddleware(c, next) {
    const key = requestHeader(c, IDEMPOTENCY_KEY_HEADER);
    if (key === undefined) return next();
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new AppError('IDEMPOTENCY_KEY_INVALID', `${IDEMPOTENCY_KEY_HEADER} must be 1-255 visible ASCII characters (a UUID is a good choice)`);
    }
    const body = new Uint8Array(await c.req.arrayBuffer()); // hono caches it for the handler
    const url = new URL(c.req.url);
    const fingerprint = createHmac('sha256', fingerprintKey)
      .update(`${c.req.method}\n${url.pathname}${url.search}\n`)
      .update(body)
      .digest('hex');
    const id: IdempotencyKeyId = { scope: callerScope(c), method: c.req.method, route: c.req.routePath, key };
    const nowMs = clock.nowMs();
    const claim: Claim = { claimId: randomUUID(), fingerprint, nowMs, lockedUntilMs: nowMs + leaseMs, expiresAtMs: nowMs + ttlMs };

    let claimed = await claimNewKey(db, id, claim);
    if (!claimed) {
      const seen = await findKey(db, id);
      if (!seen) {
        claimed = await claimNewKey(db, id, claim); // pruned in between
      } else if (seen.expires_at <= nowMs) {
        claimed = await takeOverKey(db, id, seen, claim);
      } else if (seen.fingerprint !== fingerprint) {
        throw new AppError('IDEMPOTENCY_KEY_MISMATCH', `this ${IDEMPOTENCY_KEY_HEADER} was already used for a different request (another path or body); use a new key`);
      } else if (seen.state === 'done') {
        return replay(seen);
      } else if (seen.locked_until <= nowMs) {
        claimed = await takeOverKey(db, id, seen, claim);
      }
      if (!claimed) {
        throw new AppError('IDEMPOTENCY_KEY_IN_USE', `a request with this ${IDEMPOTENCY_KEY_HEADER} is still running; retry shortly for its answer`, {
          headers: { 'Retry-After': String(IN_USE_RETRY_AFTER_SECONDS) },
          extra: { retryAfter: IN_USE_RETRY_AFTER_SECONDS },
        });
      }
    }

    try {
      await next();
    } catch (err) {
      await releaseKey(db, id, claim);
      throw err;
    }
    if (!isFinalAnswer(c.res.status)) {
      await releaseKey(db, id, claim);
      return;
    }
    const answer = await c.res.clone().text();
    await storeAnswer(db, id, claim, { status: c.res.status, contentType: c.res.headers.get('Content-Type'), body: answer });
  };
}
