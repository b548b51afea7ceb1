import { createPublicKey, verify, type KeyObject } from 'node:crypto';

// DER prefix of an Ed25519 SubjectPublicKeyInfo; node's crypto wants a key object, Stellar gives raw 32 bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const keyCache = new Map<string, KeyObject>();

function publicKey(raw: Buffer): KeyObject {
  const id = raw.toString('hex');
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** Ed25519 verification with node's native implementation (far faster than a JS one). Never throws. */
export function verifyEd25519(rawPublicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (rawPublicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKey(rawPublicKey), signature);
  } catch {
    return false;
  }
}
