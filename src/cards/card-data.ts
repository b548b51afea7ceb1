import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { CardDetails } from '../protocol/api.js';

/** The sensitive part of a card, as the API shows it (src/protocol/api.ts). Only ever stored encrypted. */
export type { BillingAddress, CardDetails } from '../protocol/api.js';

export const CARD_DATA_KEY_BYTES = 32;
const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class CardDataError extends Error {
  override name = 'CardDataError';
}

/**
 * AES-256-GCM with the card id as associated data, so a ciphertext copied onto another card's row
 * fails to decrypt. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 */
export class CardDataCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== CARD_DATA_KEY_BYTES) throw new CardDataError(`card data key must be ${CARD_DATA_KEY_BYTES} bytes`);
    this.key = Buffer.from(key);
  }

  encrypt(cardId: string, details: CardDetails): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associatedData(cardId));
    const body = Buffer.concat([cipher.update(JSON.stringify(details), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), body]);
  }

  /**
   * A key for another purpose, derived from the card data key (HKDF-SHA256 with `purpose` as info),
   * so one secret protects card data and the lookups made on it without using the same key twice.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `card402:${purpose}`, CARD_DATA_KEY_BYTES));
  }

  /** Encrypts raw bytes bound to `label` (never a card id's form): secrets other than card data. */
  encryptBytes(label: string, plain: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`card402:secret:v1:${label}`, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), body]);
  }

  decryptBytes(label: string, blob: Buffer): Buffer {
    if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== FORMAT_VERSION) throw new CardDataError('secret has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(`card402:secret:v1:${label}`, 'utf8'));
    decipher.setAuthTag(blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CardDataError('secret failed authentication (wrong key or tampered row)');
    }
  }

  decrypt(cardId: string, blob: Buffer): CardDetails {
    if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== FORMAT_VERSION) {
      throw new CardDataError('card data has an unknown format');
    }
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(associatedData(cardId));
    decipher.setAuthTag(tag);
    try {
      const plain = Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as CardDetails;
    } catch {
      throw new CardDataError('card data failed authentication (wrong key or tampered row)');
    }
  }
}

function associatedData(cardId: string): Buffer {
  return Buffer.from(`card402:card-details:v1:${cardId}`, 'utf8');
}

/**
 * Refuses a card data key that does not open the cards already stored: a lost key file is
 * otherwise silently regenerated, and every existing card's details become unreadable while new
 * cards are sealed with the new key. Called at start-up, before anything is served.
 */
export function assertKeyOpensStoredCards(cipher: CardDataCipher, newest: { id: string; details_ciphertext: Buffer } | undefined, keySource: string): void {
  if (!newest) return;
  try {
    cipher.decrypt(newest.id, newest.details_ciphertext);
  } catch {
    throw new CardDataError(
      `the card data key (${keySource}) does not decrypt the cards in the database: ` +
        'restore the key they were encrypted with (DATA_DIR/keys/card-data.key or CARD_DATA_KEY) before starting',
    );
  }
}
