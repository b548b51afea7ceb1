import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * Ed25519 signature verification behind one interface, so the server can use Node's native
 * implementation and the benchmark can swap in tweetnacl's pure-JS one for comparison.
 */
export interface SignatureVerifier {
  readonly name: string;
  /** publicKey: 32 raw bytes; signature: 64 bytes. Never rejects for bad input; resolves false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const GROUP_ORDER_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/**
 * RFC 8032 requires S < L. OpenSSL enforces it, tweetnacl does not; checking it here keeps both
 * verifiers identical and rules out malleable signatures (S + L verifies too in a lax verifier).
 */
export function hasCanonicalScalar(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    const l = GROUP_ORDER_LE[i]!;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

function wellFormed(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return (
    publicKey.length === ED25519_PUBLIC_KEY_BYTES && signature.length === ED25519_SIGNATURE_BYTES && hasCanonicalScalar(signature)
  );
}

/** DER SubjectPublicKeyInfo prefix for a raw Ed25519 key (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
export const DEFAULT_KEY_CACHE_SIZE = 10_000;

/** Node's built-in (OpenSSL) Ed25519. Parsed public keys are kept in a bounded LRU cache. */
export class NodeEd25519Verifier implements SignatureVerifier {
  readonly name = 'node-crypto';
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxCachedKeys = DEFAULT_KEY_CACHE_SIZE) {}

  /**
   * With a callback, Node runs the verification on libuv's thread pool: the ~100–150 µs of curve
   * arithmetic leaves the event loop, which keeps parsing and answering other requests meanwhile.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!wellFormed(publicKey, signature)) return Promise.resolve(false);
    let key: KeyObject;
    try {
      key = this.keyObject(publicKey);
    } catch {
      return Promise.resolve(false); // e.g. a public key that is not a valid curve point
    }
    return new Promise((resolve) => {
      try {
        cryptoVerify(null, message, key, signature, (error, valid) => resolve(!error && valid));
      } catch {
        resolve(false);
      }
    });
  }

  private keyObject(publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey).toString('base64');
    const cached = this.keys.get(id);
    if (cached) {
      this.keys.delete(id);
      this.keys.set(id, cached); // most recently used last
      return cached;
    }
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    this.keys.set(id, key);
    if (this.keys.size > this.maxCachedKeys) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}

/** tweetnacl's pure-JS Ed25519: portable, and the baseline the benchmark compares against. */
export class TweetnaclVerifier implements SignatureVerifier {
  readonly name = 'tweetnacl';

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!wellFormed(publicKey, signature)) return Promise.resolve(false);
    try {
      return Promise.resolve(nacl.sign.detached.verify(message, signature, publicKey));
    } catch {
      return Promise.resolve(false);
    }
  }
}

export type VerifierName = 'node' | 'tweetnacl';

export function createVerifier(name: VerifierName): SignatureVerifier {
  return name === 'node' ? new NodeEd25519Verifier() : new TweetnaclVerifier();
}
