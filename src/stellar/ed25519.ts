import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { xdr, type FeeBumpTransaction, type Keypair, type Transaction } from '@stellar/stellar-sdk';

/**
 * Ed25519 through Node's native crypto (OpenSSL) rather than stellar-sdk's pure-JS curve code, which
 * costs milliseconds per signature and dominated the server's CPU per paid request. Same keys, same
 * signatures (Ed25519 is deterministic), byte for byte.
 */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_PUBLIC_KEYS = 10_000;

function publicKeyObject(raw: Buffer): KeyObject {
  const id = raw.toString('hex');
  let key = publicKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeys.size >= MAX_CACHED_PUBLIC_KEYS) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

/** Verifies a 64-byte signature by the 32-byte public key over `message`. */
export function verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
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
    this.privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, keypair.rawSecretKey()]), format: 'der', type: 'pkcs8' });
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
