import { randomBytes } from 'node:crypto';
import { StrKey } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { accountAddress, contractAddress } from '../../src/stellar/strkeys.js';

describe('remembered StrKey addresses', () => {
  it('are exactly StrKey encodings, kept apart by kind, and stay right past the bound', () => {
    const raw = randomBytes(32);
    expect(accountAddress(raw)).toBe(StrKey.encodeEd25519PublicKey(raw));
    expect(contractAddress(raw)).toBe(StrKey.encodeContract(raw));
    expect(accountAddress(raw)).toBe(StrKey.encodeEd25519PublicKey(raw)); // remembered, same answer
    for (let i = 0; i < 10_050; i++) {
      const key = randomBytes(32);
      if (i % 1000 === 0) expect(accountAddress(key)).toBe(StrKey.encodeEd25519PublicKey(key));
      else accountAddress(key);
    }
    expect(contractAddress(raw)).toBe(StrKey.encodeContract(raw));
  });
});
