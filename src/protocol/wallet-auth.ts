import { createHash } from 'node:crypto';

/**
 * The exact bytes a wallet signs. v1 is ASG Card's message (a timestamp only); v2 binds the
 * signature to one request. Both can be signed raw or SEP-53 style ("message" mode). Shared by the
 * server middleware and the client signer so the two can never drift apart.
 */
export const V1_MESSAGE_PREFIX = 'asgcard-auth:';
export const V2_MESSAGE_HEADER = 'card402-auth-v2';
/** SEP-53: ed25519 over sha256(SEP53_PREFIX + message). */
export const SEP53_PREFIX = 'Stellar Signed Message:\n';

export type SigningMode = 'raw' | 'message';
export type AuthVersion = 1 | 2;

export const WALLET_HEADERS = {
  address: 'X-WALLET-ADDRESS',
  signature: 'X-WALLET-SIGNATURE',
  timestamp: 'X-WALLET-TIMESTAMP',
  mode: 'X-WALLET-AUTH-MODE',
  version: 'X-WALLET-AUTH-VERSION',
  nonce: 'X-WALLET-NONCE',
} as const;

/** v2 request nonces: 16–128 characters of base64url/hex/UUID alphabet. */
export const V2_NONCE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export function v1Message(timestamp: number): string {
  return `${V1_MESSAGE_PREFIX}${timestamp}`;
}

export interface V2MessageParts {
  address: string;
  method: string;
  /** Path and query exactly as sent on the request line, e.g. `/cards?limit=5`. */
  pathWithQuery: string;
  /** Lowercase hex sha256 of the raw request body (of zero bytes when there is none). */
  bodySha256Hex: string;
  timestamp: number;
  nonce: string;
}

/**
 * card402's request-bound message: seven lines joined by "\n", no trailing newline.
 *
 *   card402-auth-v2
 *   address:<G... address>
 *   method:<METHOD in upper case>
 *   path:<path and query>
 *   body-sha256:<lowercase hex>
 *   timestamp:<unix seconds>
 *   nonce:<nonce>
 */
export function v2Message(parts: V2MessageParts): string {
  return [
    V2_MESSAGE_HEADER,
    `address:${parts.address}`,
    `method:${parts.method.toUpperCase()}`,
    `path:${parts.pathWithQuery}`,
    `body-sha256:${parts.bodySha256Hex}`,
    `timestamp:${parts.timestamp}`,
    `nonce:${parts.nonce}`,
  ].join('\n');
}

export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export const EMPTY_BODY_SHA256_HEX = sha256Hex(new Uint8Array(0));

/** The bytes the Ed25519 signature covers for a message in the given mode. */
export function signingInput(message: string, mode: SigningMode): Buffer {
  return mode === 'raw' ? Buffer.from(message, 'utf8') : sha256(SEP53_PREFIX + message);
}

/** The path and query of a URL as it appears on the request line (what v2 signs). */
export function pathWithQueryOf(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url, 'http://card402.invalid') : url;
  return parsed.pathname + parsed.search;
}
