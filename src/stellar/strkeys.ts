import { StrKey } from '@stellar/stellar-sdk';
import { boundedCache } from '../cache.js';

/**
 * G... and C... addresses from raw 32-byte keys, remembered. StrKey's encoding (base32 and a
 * checksum in JavaScript) runs about ten times per paid card for the same few addresses (the asset,
 * the treasury, the payer), and was a visible part of verification's CPU and garbage. Bounded: the
 * least recently used address goes first, so a flood of distinct payers costs memory for at most MAX_REMEMBERED.
 */
const MAX_REMEMBERED = 10_000;
const remembered = boundedCache<string, string>(MAX_REMEMBERED);

function remember(kind: 'G' | 'C', raw: Buffer, encode: (raw: Buffer) => string): string {
  const key = kind + raw.toString('hex');
  let address = remembered.get(key);
  if (address === undefined) {
    address = encode(raw);
    remembered.set(key, address);
  }
  return address;
}

export function accountAddress(rawPublicKey: Buffer): string {
  return remember('G', rawPublicKey, (raw) => StrKey.encodeEd25519PublicKey(raw));
}

export function contractAddress(rawContractId: Buffer): string {
  return remember('C', rawContractId, (raw) => StrKey.encodeContract(raw));
}
