import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { CardDataCipher, CardDataError, type CardDetails } from '../../src/cards/card-data.js';
import { loadOrCreateKeyFile, loadOrCreateRandomKeyFile } from '../../src/secrets/key-files.js';

const details: CardDetails = {
  cardNumber: '4242424242424242',
  expiryMonth: 12,
  expiryYear: 2029,
  cvv: '987',
  billingAddress: { line1: '1 Main St', city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' },
};

describe('CardDataCipher', () => {
  const cipher = new CardDataCipher(randomBytes(32));

  it('round trips and never holds the number or CVV in the ciphertext', () => {
    const id = randomUUID();
    const blob = cipher.encrypt(id, details);
    expect(blob.toString('latin1')).not.toContain(details.cardNumber);
    expect(blob.toString('latin1')).not.toContain('987');
    expect(cipher.decrypt(id, blob)).toEqual(details);
  });

  it('uses a fresh IV each time', () => {
    const id = randomUUID();
    expect(cipher.encrypt(id, details).equals(cipher.encrypt(id, details))).toBe(false);
  });

  it('refuses a ciphertext moved to another card (card id is associated data)', () => {
    const blob = cipher.encrypt(randomUUID(), details);
    expect(() => cipher.decrypt(randomUUID(), blob)).toThrow(CardDataError);
  });

  it('refuses tampering and the wrong key', () => {
    const id = randomUUID();
    const blob = cipher.encrypt(id, details);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => cipher.decrypt(id, tampered)).toThrow(CardDataError);
    expect(() => new CardDataCipher(randomBytes(32)).decrypt(id, blob)).toThrow(CardDataError);
    expect(() => cipher.decrypt(id, Buffer.from([9, 9, 9]))).toThrow(CardDataError);
  });

  it('requires a 32-byte key', () => {
    expect(() => new CardDataCipher(randomBytes(16))).toThrow(CardDataError);
  });
});

describe('key files', () => {
  it('generate once with mode 0600 and load the same key after', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-keys-'));
    const first = loadOrCreateRandomKeyFile(dir, 'card-data', 32);
    expect(first.created).toBe(true);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(first.file)).mode & 0o777).toBe(0o700);
    const second = loadOrCreateRandomKeyFile(dir, 'card-data', 32);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);

    const stellar = loadOrCreateKeyFile(dir, 'treasury');
    expect(statSync(stellar.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(stellar.file, 'utf8').trim()).toBe(stellar.keypair.secret());
    expect(loadOrCreateKeyFile(dir, 'treasury').keypair.publicKey()).toBe(stellar.keypair.publicKey());
    expect(Keypair.fromSecret(stellar.keypair.secret()).publicKey()).toBe(stellar.keypair.publicKey());
  });
});
