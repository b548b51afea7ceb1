import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, ed25519PublicKey } from '../stellar/ed25519.js';

/**
 * Ed25519 signature verification behind one interface, so the server uses Node's native
 * implementation and the benchmark can swap in tweetnacl's pure-JS one (bench/wallet) for comparison.
 */
export interface SignatureVerifier {
  readonly name: string;
  /** publicKey: 32 raw bytes; signature: 64 bytes. Never rejects for bad input; resolves false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES };

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

export function wellFormed(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return (
    publicKey.length === ED25519_PUBLIC_KEY_BYTES && signature.length === ED25519_SIGNATURE_BYTES && hasCanonicalScalar(signature)
  );
}

/** Node's built-in (OpenSSL) Ed25519, over the shared key cache of stellar/ed25519.ts. */
export class NodeEd25519Verifier implements SignatureVerifier {
  readonly name = 'node-crypto';

  /**
   * With a callback, Node runs the verification on libuv's thread pool: the ~100–150 µs of curve
   * arithmetic leaves the event loop, which keeps parsing and answering other requests meanwhile.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!wellFormed(publicKey, signature)) return Promise.resolve(false);
    let key: KeyObject;
    try {
      key = ed25519PublicKey(publicKey);
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
}
