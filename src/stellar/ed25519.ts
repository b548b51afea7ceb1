import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { xdr, type FeeBumpTransaction, type Keypair, type Transaction } from '@stellar/stellar-sdk';
import { boundedCache } from '../cache.js';

/**
 * The one Ed25519 key module: Ed25519 through Node's native crypto (OpenSSL) rather than
 * stellar-sdk's pure-JS curve code, which costs milliseconds per signature and dominated the
 * server's CPU per paid request. Same keys, same signatures (Ed25519 is deterministic), byte for
 * byte. Wallet auth, the ledger, the facilitator and the SDK all take their key objects from here.
 */

/** DER PKCS#8 prefix for a raw 32-byte Ed25519 seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 public key (RFC 8410). */
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** Parsed public keys, by raw bytes: wallets and payers come back, parsing costs more than a lookup. */
const publicKeys = boundedCache<string, KeyObject>(10_000);

/** The KeyObject of a raw 32-byte public key; throws if it is not one (e.g. not a curve point). */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  let key = publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    publicKeys.set(id, key);
  }
  return key;
}

/** The KeyObject of a raw 32-byte secret seed (never cached: the seed is not kept around). */
export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Verifies a 64-byte signature by the 32-byte public key over `message`. */
export function verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, ed25519PublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

/** A signer holding the key as a native KeyObject (the raw seed is not kept around). */
export class NativeSigner {
  private readonly privateKey: KeyObject;
  readonly publicKey: string;
  readonly rawPublicKey: Buffer;
  /** The last 4 bytes of the public key, as DecoratedSignature wants. */
  readonly hint: Buffer;

  constructor(keypair: Keypair) {
    this.privateKey = ed25519PrivateKey(keypair.rawSecretKey());
    this.publicKey = keypair.publicKey();
    this.rawPublicKey = Buffer.from(keypair.rawPublicKey());
    this.hint = this.rawPublicKey.subarray(28);
  }

  sign(message: Buffer): Buffer {
    return sign(null, message, this.privateKey);
  }

  /** Adds this key's signature to a transaction envelope, as Transaction.sign(keypair) would. */
  signTransaction(tx: Transaction | FeeBumpTransaction): void {
    tx.signatures.push(new xdr.DecoratedSignature({ hint: this.hint, signature: this.sign(tx.hash()) }));
  }
}
