import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Db } from '../../db/open.js';
import { reusableQuery } from '../../db/reusable-query.js';
import type { Database } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import type { CardDataCipher, CardDetails } from '../card-data.js';
import type { Executor } from '../repository.js';

/**
 * How the card network finds a card from the card data a merchant presents, without decrypting
 * any card: the number is looked up by its HMAC, and the presented number, expiry and CVV must
 * match a second HMAC. Both are keyed with a key derived from the card data key, so the table
 * alone reveals nothing (a CVV or a number cannot be brute-forced from it without the key).
 */
export class CardNetworkIndex {
  private readonly key: Buffer;

  constructor(cipher: CardDataCipher) {
    this.key = cipher.deriveKey('card-network-index:v1');
  }

  numberHmac(cardNumber: string): string {
    return createHmac('sha256', this.key).update(`number:${cardNumber}`).digest('hex');
  }

  verificationHmac(card: { cardNumber: string; expiryMonth: number; expiryYear: number; cvv: string }): string {
    return createHmac('sha256', this.key).update(`verify:${card.cardNumber}:${card.expiryMonth}:${card.expiryYear}:${card.cvv}`).digest('hex');
  }

  /** Constant-time comparison of a presented set with the stored verification HMAC. */
  matches(stored: string, presented: { cardNumber: string; expiryMonth: number; expiryYear: number; cvv: string }): boolean {
    const a = Buffer.from(stored, 'hex');
    const b = Buffer.from(this.verificationHmac(presented), 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** The row for a new card; written in the transaction that writes the card. */
  async add(db: Executor, card: { cardId: string; providerRef: string; details: CardDetails; nowMs: number }): Promise<void> {
    await (db as Kysely<Database>)
      .insertInto('card_network_index')
      .values({
        card_id: card.cardId,
        number_hmac: this.numberHmac(card.details.cardNumber),
        verification_hmac: this.verificationHmac(card.details),
        provider_ref: card.providerRef,
        created_at: card.nowMs,
      })
      .onConflict((oc) => oc.column('card_id').doNothing())
      .execute();
  }

  /**
   * Indexes the cards issued before this table existed: each is decrypted once, here, at start-up.
   * Returns how many it indexed.
   */
  async backfill(db: Db, cipher: CardDataCipher, nowMs: number, logger?: Logger): Promise<number> {
    const missing = await db
      .selectFrom('cards')
      .leftJoin('card_network_index', 'card_network_index.card_id', 'cards.id')
      .select(['cards.id', 'cards.provider_ref', 'cards.details_ciphertext'])
      .where('card_network_index.card_id', 'is', null)
      .execute();
    for (const card of missing) {
      await this.add(db, { cardId: card.id, providerRef: card.provider_ref, details: cipher.decrypt(card.id, card.details_ciphertext), nowMs });
    }
    if (missing.length > 0) logger?.info('indexed cards for the card network', { cards: missing.length });
    return missing.length;
  }
}

const byNumber = reusableQuery(1, (db: Kysely<Database>, numberHmac: string) =>
  db.selectFrom('card_network_index').select(['card_id', 'verification_hmac']).where('number_hmac', '=', numberHmac),
);

export async function findIndexedCardByNumber(db: Executor, numberHmac: string) {
  return (await byNumber(db as Kysely<Database>, numberHmac))[0];
}

export async function findIndexedCardByProviderRef(db: Executor, providerRef: string) {
  return db.selectFrom('card_network_index').select(['card_id']).where('provider_ref', '=', providerRef).executeTakeFirst();
}
