import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Raw Ed25519 keys as Node KeyObjects (native crypto, OpenSSL): the one place the DER framing of
 * RFC 8410 is written, shared by the server (src/stellar/ed25519.ts, which caches public keys) and
 * the SDK's request signer.
 */

/** DER PKCS#8 prefix for a raw 32-byte Ed25519 seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 public key (RFC 8410). */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The KeyObject of a raw 32-byte public key; throws if it is not one (e.g. not a curve point). */
export function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The KeyObject of a raw 32-byte secret seed (never cached: the seed is not kept around). */
export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}
