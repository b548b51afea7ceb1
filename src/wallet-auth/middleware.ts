import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../clock.js';
import type { AppEnv } from '../http/kernel/env.js';
import { AppError } from '../http/kernel/errors.js';
import { requestHeader } from '../http/kernel/request-header.js';
import type { FailureCounter } from './failure-limiter.js';
import { parseWalletHeaders } from './headers.js';
import { pathWithQueryOf, sha256Hex, signingInput, v1Message, v2Message, type AuthVersion, type SigningMode } from '../protocol/wallet-auth.js';
import type { ReplayStore } from './replay-store.js';
import type { SignatureVerifier } from './verifier.js';

/** What a handler learns about the caller: published as `c.get('wallet')`. */
export interface WalletIdentity {
  address: string;
  version: AuthVersion;
  mode: SigningMode;
  timestamp: number;
  /**
   * True on a single-use route: a v2 nonce is spent; a v1 signature is held to the client that
   * first presented it, within a second, and to one details read.
   */
  singleUse: boolean;
}

/**
 * The env of a wallet-signed route: the kernel's variables plus `wallet`. Handlers mounted after a
 * walletAuth middleware see `c.get('wallet')` typed as a WalletIdentity, never undefined, because
 * the middleware sets it before calling next() or throws.
 */
export interface WalletEnv extends AppEnv {
  Variables: AppEnv['Variables'] & { wallet: WalletIdentity };
}

export interface WalletAuthOptions {
  verifier: SignatureVerifier;
  replayStore: ReplayStore;
  clock: Clock;
  /** How far X-WALLET-TIMESTAMP may be from now, either way (ASG: 300). */
  maxSkewSeconds: number;
  /**
   * What the route does with a signature (README, "Signing a request"). `read`: a v1 signature is
   * an ASG-compatible bearer within the skew window, recorded with the client that first presented
   * it. `change` (state changes) and `details`: a v1 signature is accepted if it was never
   * presented, or again from the client that first presented it less than SAME_CLIENT_REUSE_MS
   * before; `details` also at most once per signature. v2 is always single-use.
   */
  use: 'read' | 'change' | 'details';
  failures: { perIp: FailureCounter; perWallet: FailureCounter };
  /** Told the code of every refusal (for the metrics); never the address or the signature. */
  onFailure?: ((code: string) => void) | undefined;
}

function rateLimited(blockedMs: number): AppError {
  const retryAfter = Math.max(1, Math.ceil(blockedMs / 1000));
  return new AppError('AUTH_RATE_LIMITED', 'too many failed authentication attempts; retry later', {
    headers: { 'Retry-After': String(retryAfter) },
    extra: { retryAfter },
  });
}

/**
 * Ed25519 wallet authentication (DESIGN §6). Order: failure limits (before any crypto) →
 * headers (400) → timestamp window (401) → signature (401) → single use (401) → `c.set('wallet')`.
 */
export function walletAuth(opts: WalletAuthOptions): MiddlewareHandler<WalletEnv> {
  if (!Number.isInteger(opts.maxSkewSeconds) || opts.maxSkewSeconds < 1) throw new RangeError('maxSkewSeconds must be a positive integer');
  const { verifier, replayStore, clock, maxSkewSeconds, failures, onFailure } = opts;
  const rateLimitedNow = (blockedMs: number): AppError => {
    onFailure?.('AUTH_RATE_LIMITED');
    return rateLimited(blockedMs);
  };

  return async function walletAuthMiddleware(c, next) {
    const nowMs = clock.nowMs();
    const ip = c.get('clientIp') ?? 'unknown';
    const ipBlockedMs = await failures.perIp.blockedForMs(ip, nowMs);
    if (ipBlockedMs > 0) throw rateLimitedNow(ipBlockedMs);

    const fail = async (error: AppError, address?: string): Promise<AppError> => {
      await failures.perIp.recordFailure(ip, nowMs);
      if (address) await failures.perWallet.recordFailure(address, nowMs);
      onFailure?.(error.code);
      return error;
    };

    const parsed = parseWalletHeaders((name) => requestHeader(c, name));
    if (!parsed.ok) {
      const code = parsed.reason === 'missing' ? 'UNAUTHORIZED' : 'AUTH_MALFORMED';
      throw await fail(new AppError(code, parsed.message), parsed.address);
    }
    const auth = parsed.headers;
    const walletBlockedMs = await failures.perWallet.blockedForMs(auth.address, nowMs);
    if (walletBlockedMs > 0) throw rateLimitedNow(walletBlockedMs);

    const skewSeconds = Math.floor(nowMs / 1000) - auth.timestamp;
    if (Math.abs(skewSeconds) > maxSkewSeconds) {
      const which = skewSeconds > 0 ? 'too old' : 'in the future';
      throw await fail(new AppError('AUTH_EXPIRED', `X-WALLET-TIMESTAMP is ${which}; it must be within ${maxSkewSeconds} s of server time`, { extra: { serverTime: Math.floor(nowMs / 1000) } }), auth.address);
    }

    let message: string;
    if (auth.version === 1) {
      message = v1Message(auth.timestamp);
    } else {
      const body = new Uint8Array(await c.req.arrayBuffer()); // hono caches it for the handler
      message = v2Message({
        address: auth.address,
        method: c.req.method,
        pathWithQuery: pathWithQueryOf(c.req.url),
        bodySha256Hex: sha256Hex(body),
        timestamp: auth.timestamp,
        nonce: auth.nonce!,
      });
    }
    // Verification runs off the event loop, so requests from one IP that are already past the
    // limit check when its limit is reached still finish: the overshoot is bounded by that IP's
    // open connections, not by its request rate.
    if (!(await verifier.verify(auth.publicKey, signingInput(message, auth.mode), auth.signature))) {
      throw await fail(new AppError('AUTH_SIGNATURE_INVALID', 'wallet signature does not verify for this address and message'), auth.address);
    }

    const singleUse = auth.version === 2 || opts.use !== 'read';
    // Keyed by what was signed, not by the signature bytes, so no re-encoding of a signature can slip past.
    const key = auth.version === 2 ? `v2:${auth.address}:${auth.nonce}` : `v1:${auth.mode}:${auth.address}:${auth.timestamp}`;
    const expiresAtMs = (auth.timestamp + maxSkewSeconds + 1) * 1000;
    if (auth.version === 2) {
      if (!(await replayStore.claim(key, expiresAtMs, nowMs))) {
        throw await fail(new AppError('AUTH_REPLAYED', 'replayed wallet signature: this request nonce was already used'), auth.address);
      }
    } else if (singleUse) {
      // ASG's clients re-use one v1 signature for every call within its second (get then freeze,
      // unfreeze then freeze). A captured one is refused from any other client address, after
      // that second, and for a second details read (README, "Signing a request").
      if (!(await replayStore.claimV1({ key, clientIp: ip, details: opts.use === 'details', expiresAtMs, nowMs }))) {
        const hint = 'this signature was already presented by another client, more than a second ago, or on a details read; sign a new timestamp or use X-WALLET-AUTH-VERSION: 2';
        throw await fail(new AppError('AUTH_REPLAYED', `replayed wallet signature: ${hint}`), auth.address);
      }
    } else {
      // A v1 signature on a plain read stays re-usable on reads (ASG), but its headers may now sit
      // in a log or a proxy, so a single-use route must hold it to its first client and second.
      // It is recorded, with that client, under the same key a single-use route claims, in the same
      // table, before the read is served; also after a restart. (The alternative, refusing
      // on single-use routes any v1 timestamp older than the process start, would still need a
      // complete in-memory record of what this process has seen, unbounded under a flood of
      // wallets x timestamps, and would turn away honest clients with slightly slow clocks after
      // every restart.) The cost is one INSERT per distinct signature per process: the store
      // skips the write for keys it already recorded, so repeated signed reads stay write-free.
      await replayStore.remember({ key, clientIp: ip, expiresAtMs, nowMs });
    }

    c.set('wallet', { address: auth.address, version: auth.version, mode: auth.mode, timestamp: auth.timestamp, singleUse });
    await next();
  };
}
