import { sign, verify, type KeyObject } from 'node:crypto';
import { xdr, type FeeBumpTransaction, type Keypair, type Transaction } from '@stellar/stellar-sdk';
import { boundedCache } from '../cache.js';
import { ed25519PrivateKey, ed25519PublicKeyObject } from '../protocol/ed25519-keys.js';

/**
 * The one Ed25519 key module: Ed25519 through Node's native crypto (OpenSSL) rather than
 * stellar-sdk's pure-JS curve code, which costs milliseconds per signature and dominated the
 * server's CPU per paid request. Same keys, same signatures (Ed25519 is deterministic), byte for
 * byte. Wallet auth, the ledger and the facilitator take their key objects from here; the DER framing
 * itself is in protocol/ed25519-keys.ts, which the SDK shares.
 */

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** Parsed public keys, by raw bytes: wallets and payers come back, parsing costs more than a lookup. */
const publicKeys = boundedCache<string, KeyObject>(10_000);

/** The KeyObject of a raw 32-byte public key; throws if it is not one (e.g. not a curve point). */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  let key = publicKeys.get(id);
  if (!key) {
    key = ed25519PublicKeyObject(raw);
    publicKeys.set(id, key);
  }
  return key;
}

export { ed25519PrivateKey };

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
