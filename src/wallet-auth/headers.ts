import { StrKey } from '@stellar/stellar-sdk';
import { boundedCache } from '../cache.js';
import { V2_NONCE_PATTERN, WALLET_HEADERS, type AuthVersion, type SigningMode } from '../protocol/wallet-auth.js';
import { ED25519_SIGNATURE_BYTES } from './verifier.js';

export interface WalletAuthHeaders {
  address: string;
  publicKey: Uint8Array;
  signature: Uint8Array;
  timestamp: number;
  mode: SigningMode;
  version: AuthVersion;
  /** Present exactly when version is 2. */
  nonce?: string;
}

export type ParsedWalletHeaders =
  | { ok: true; headers: WalletAuthHeaders }
  | { ok: false; reason: 'missing' | 'malformed'; message: string; address?: string };

/** 64 bytes in standard base64 is 86 characters plus `==`; the padding may be left off. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{86}(==)?$/;
const UNIX_SECONDS = /^\d{1,12}$/;

export const ADDRESS_CACHE_SIZE = 10_000;
const decodedAddresses = boundedCache<string, Uint8Array>(ADDRESS_CACHE_SIZE);

/**
 * The raw Ed25519 key of a G... address, or undefined if it is not one. StrKey's base32 decoding
 * is slow (it trips Node's Buffer() deprecation check on every call), so valid addresses are
 * remembered in a bounded LRU; invalid ones never enter it.
 */
export function decodeAccountAddress(address: string): Uint8Array | undefined {
  const cached = decodedAddresses.get(address);
  if (cached) return cached;
  if (!StrKey.isValidEd25519PublicKey(address)) return undefined;
  const key = Uint8Array.from(StrKey.decodeEd25519PublicKey(address));
  decodedAddresses.set(address, key);
  return key;
}

/**
 * Reads the wallet headers without verifying anything. None of the three required headers:
 * `missing` (401). Some present, or any malformed: `malformed` (400).
 */
export function parseWalletHeaders(header: (name: string) => string | undefined): ParsedWalletHeaders {
  const address = header(WALLET_HEADERS.address)?.trim();
  const signature = header(WALLET_HEADERS.signature)?.trim();
  const timestamp = header(WALLET_HEADERS.timestamp)?.trim();
  if (!address && !signature && !timestamp) {
    return { ok: false, reason: 'missing', message: 'wallet authentication required: send X-WALLET-ADDRESS, X-WALLET-SIGNATURE and X-WALLET-TIMESTAMP' };
  }
  const malformed = (message: string, known?: string): ParsedWalletHeaders => ({ ok: false, reason: 'malformed', message, address: known });

  const publicKey = address ? decodeAccountAddress(address) : undefined;
  if (!address || !publicKey) return malformed('X-WALLET-ADDRESS must be a Stellar account address (G...)');
  if (!signature || !SIGNATURE_BASE64.test(signature)) {
    return malformed(`X-WALLET-SIGNATURE must be the base64 of a ${ED25519_SIGNATURE_BYTES}-byte Ed25519 signature`, address);
  }
  if (!timestamp || !UNIX_SECONDS.test(timestamp)) return malformed('X-WALLET-TIMESTAMP must be unix time in seconds', address);

  const modeHeader = header(WALLET_HEADERS.mode)?.trim().toLowerCase();
  if (modeHeader !== undefined && modeHeader !== 'raw' && modeHeader !== 'message') {
    return malformed('X-WALLET-AUTH-MODE must be "raw" or "message"', address);
  }
  const versionHeader = header(WALLET_HEADERS.version)?.trim();
  if (versionHeader !== undefined && versionHeader !== '1' && versionHeader !== '2') {
    return malformed('X-WALLET-AUTH-VERSION must be 1 or 2', address);
  }
  const version: AuthVersion = versionHeader === '2' ? 2 : 1;
  const nonce = header(WALLET_HEADERS.nonce)?.trim();
  if (version === 2 && (!nonce || !V2_NONCE_PATTERN.test(nonce))) {
    return malformed('X-WALLET-NONCE must be 16-128 characters of [A-Za-z0-9_-] for version 2', address);
  }
  if (version === 1 && nonce !== undefined) return malformed('X-WALLET-NONCE is only used with X-WALLET-AUTH-VERSION: 2', address);

  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.length !== ED25519_SIGNATURE_BYTES) {
    return malformed(`X-WALLET-SIGNATURE must be the base64 of a ${ED25519_SIGNATURE_BYTES}-byte Ed25519 signature`, address);
  }
  return {
    ok: true,
    headers: {
      address,
      publicKey,
      signature: signatureBytes,
      timestamp: Number(timestamp),
      mode: modeHeader === 'message' ? 'message' : 'raw',
      version,
      ...(version === 2 ? { nonce } : {}),
    },
  };
}
