import { randomBytes, sign as cryptoSign } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { ed25519PrivateKey } from '../protocol/ed25519-keys.js';
import {
  pathWithQueryOf,
  sha256Hex,
  signingInput,
  v1Message,
  v2Message,
  WALLET_HEADERS,
  type SigningMode,
} from '../protocol/wallet-auth.js';

/**
 * Client side of card402 wallet auth: builds the headers for a request. Anything with
 * `publicKey()` and `sign(bytes)` works, e.g. a `Keypair` from @stellar/stellar-sdk.
 */
export interface WalletSigner {
  publicKey(): string;
  sign(data: Buffer): Buffer;
}

export interface WalletSignOptions {
  /** "raw" signs the message bytes (ASG); "message" signs per SEP-53 (wallets' signMessage). Default raw. */
  mode?: SigningMode;
  /** Unix seconds; default now. */
  timestamp?: number;
}

export interface SignedRequest {
  method: string;
  /** Absolute URL or path with query, exactly as it will be requested. */
  url: string | URL;
  /** The exact body bytes that will be sent, if any. */
  body?: string | Uint8Array | null;
}

/**
 * A signer for a Stellar secret seed (S...) that signs with Node's built-in Ed25519: the same
 * signatures as `Keypair.sign` (Ed25519 is deterministic), roughly 15x faster.
 */
export function secretSeedSigner(secretSeed: string): WalletSigner {
  const keypair = Keypair.fromSecret(secretSeed);
  const privateKey = ed25519PrivateKey(keypair.rawSecretKey());
  const address = keypair.publicKey();
  return {
    publicKey: () => address,
    sign: (data) => cryptoSign(null, data, privateKey),
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A fresh 128-bit v2 request nonce (base64url, 22 characters). */
export function newRequestNonce(): string {
  return randomBytes(16).toString('base64url');
}

function signatureHeaders(signer: WalletSigner, message: string, mode: SigningMode, timestamp: number): Record<string, string> {
  const headers: Record<string, string> = {
    [WALLET_HEADERS.address]: signer.publicKey(),
    [WALLET_HEADERS.signature]: signer.sign(signingInput(message, mode)).toString('base64'),
    [WALLET_HEADERS.timestamp]: String(timestamp),
  };
  if (mode === 'message') headers[WALLET_HEADERS.mode] = 'message';
  return headers;
}

/**
 * ASG-compatible v1 headers: the signature covers only `asgcard-auth:<timestamp>`. card402 accepts
 * it re-usably (±300 s) on plain reads, and on details and state-changing routes only once and only
 * if it was not presented anywhere before (a read included).
 */
export function walletAuthHeadersV1(signer: WalletSigner, opts: WalletSignOptions = {}): Record<string, string> {
  const timestamp = opts.timestamp ?? nowSeconds();
  return signatureHeaders(signer, v1Message(timestamp), opts.mode ?? 'raw', timestamp);
}

/** Request-bound v2 headers: method, path and query, body hash, timestamp and a single-use nonce. */
export function walletAuthHeadersV2(
  signer: WalletSigner,
  request: SignedRequest,
  opts: WalletSignOptions & { nonce?: string } = {},
): Record<string, string> {
  const timestamp = opts.timestamp ?? nowSeconds();
  const nonce = opts.nonce ?? newRequestNonce();
  const body = request.body ?? new Uint8Array(0);
  const message = v2Message({
    address: signer.publicKey(),
    method: request.method,
    pathWithQuery: pathWithQueryOf(request.url),
    bodySha256Hex: sha256Hex(body),
    timestamp,
    nonce,
  });
  return {
    ...signatureHeaders(signer, message, opts.mode ?? 'raw', timestamp),
    [WALLET_HEADERS.version]: '2',
    [WALLET_HEADERS.nonce]: nonce,
  };
}
