import { createHash, timingSafeEqual, webcrypto } from 'node:crypto';
import { sign, verify } from 'hono/jwt';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { loadOrCreateRandomKeyFile } from '../../secrets/key-files.js';

/** Bytes of a generated redeem-token signing secret (HS256: at least the hash size). */
export const REDEEM_TOKEN_SECRET_BYTES = 32;
export const REDEEM_SCOPE_PREFIX = 'card-session:redeem:';
/** A token longer than this is not one card402 issued (they are about 300 characters). */
export const MAX_REDEEM_TOKEN_CHARS = 2048;

export interface RedeemTokenSecrets {
  /** Signs new tokens, and verifies. */
  current: Buffer;
  /** Verifies only: tokens signed before a rotation keep working until they expire. */
  previous?: Buffer | undefined;
}

export interface RedeemClaims {
  scope: string;
  /** The wallet that created the session. */
  sub: string;
  /** The session id. */
  jti: string;
  iat: number;
  exp: number;
}

/** sha256 hex of a token: what the database keeps instead of the token. */
export function redeemTokenHash(token: string): string {
  return createHash('sha256').update(`card402:redeem-token:${token}`).digest('hex');
}

export function sameTokenHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

type HmacKey = webcrypto.CryptoKey;

async function hmacKey(secret: Buffer): Promise<HmacKey> {
  return webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/**
 * Scoped redeem tokens for card sessions: HS256 JWTs (hono's JWT helper) with `scope:
 * card-session:redeem:{cardId}`, `sub` = the wallet, `jti` = the session, `exp` = the session's
 * expiry. Signed with the current secret; verified with the current one, then the previous one (a
 * rotation leaves tokens already handed out valid until they expire). Expiry is not checked here
 * but by the caller against the injected clock (hono's helper reads the system time).
 */
export class RedeemTokens {
  private keys: Promise<HmacKey[]> | undefined;

  constructor(private readonly secrets: RedeemTokenSecrets) {
    for (const secret of [secrets.current, secrets.previous]) {
      if (secret && secret.length < REDEEM_TOKEN_SECRET_BYTES) throw new RangeError(`redeem token secrets must be at least ${REDEEM_TOKEN_SECRET_BYTES} bytes`);
    }
  }

  private hmacKeys(): Promise<HmacKey[]> {
    this.keys ??= Promise.all([this.secrets.current, ...(this.secrets.previous ? [this.secrets.previous] : [])].map(hmacKey));
    return this.keys;
  }

  async sign(claims: { sessionId: string; cardId: string; wallet: string; issuedAtMs: number; expiresAtMs: number }): Promise<string> {
    const [current] = await this.hmacKeys();
    const payload: RedeemClaims = {
      scope: `${REDEEM_SCOPE_PREFIX}${claims.cardId}`,
      sub: claims.wallet,
      jti: claims.sessionId,
      iat: Math.floor(claims.issuedAtMs / 1000),
      exp: Math.ceil(claims.expiresAtMs / 1000),
    };
    return sign({ ...payload }, current!, 'HS256');
  }

  /** The token's claims when it is an HS256 JWT signed with one of our secrets and well formed; otherwise null. */
  async verify(token: string): Promise<RedeemClaims | null> {
    if (token.length > MAX_REDEEM_TOKEN_CHARS) return null;
    for (const key of await this.hmacKeys()) {
      let payload: Record<string, unknown>;
      try {
        // Errors of the helper quote the token: they are swallowed here, never logged or shown.
        payload = await verify(token, key, { alg: 'HS256', exp: false, nbf: false, iat: false });
      } catch {
        continue;
      }
      const { scope, sub, jti, iat, exp } = payload;
      if (typeof scope !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
      return { scope, sub, jti, iat, exp };
    }
    return null;
  }
}

/**
 * The signing secrets from configuration: CARD_SESSION_TOKEN_SECRET, or DATA_DIR/keys/card-session-token.key
 * (generated on first use, mode 0600); CARD_SESSION_TOKEN_PREVIOUS_SECRET verifies only.
 */
export function loadRedeemTokenSecrets(config: Config, logger: Logger): RedeemTokenSecrets {
  const previous = config.cardSessions.previousTokenSecret;
  if (config.cardSessions.tokenSecret) return { current: config.cardSessions.tokenSecret, previous };
  const { key, created, file } = loadOrCreateRandomKeyFile(config.dataDir, 'card-session-token', REDEEM_TOKEN_SECRET_BYTES);
  if (created) logger.info('generated card session token secret', { file });
  return { current: key, previous };
}
