import { randomUUID } from 'node:crypto';
import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { addLedgerEntry, insertCard } from '../../cards/repository.js';
import type { CardRow } from '../../db/schema.js';
import { priceCardCreation } from '../../protocol/money/pricing.js';
import { cardView, paymentView } from '../views.js';
import { defineProduct } from './product.js';

export const createCardBody = z.object({
  // Printable text only: the name goes to the card provider and is shown to the owner wallet, so
  // no control or invisible formatting characters (terminal escapes, NUL, bidi overrides).
  nameOnCard: z.string().trim().min(1).max(64).regex(/^[^\p{Cc}\p{Cf}]*$/u, 'nameOnCard must be printable text (no control characters)'),
  email: z.email().max(254),
  /** Who may manage the card besides the payer; defaults to the payer. */
  ownerAddress: z
    .string()
    .refine((v) => StrKey.isValidEd25519PublicKey(v), 'expected a Stellar account address (G...)')
    .optional(),
});
export type CreateCardBody = z.infer<typeof createCardBody>;

/** A new virtual card with an initial load (0 for a card only): `POST /cards/create/tier/:amount`. */
export const createCard = defineProduct<CreateCardBody>({
  kind: 'create',
  route: '/cards/create/tier/:amount',
  description: 'Create a virtual card',
  successStatus: 201,
  body: createCardBody,
  price: (params) => priceCardCreation(params.amount ?? ''),
  async prepare(ctx, payment, body) {
    const issued = await ctx.issuer.issueCard({ requestKey: payment.id, nameOnCard: body.nameOnCard, email: body.email, loadCents: payment.load_cents });
    return {
      details: issued.details,
      async write(trx, nowMs) {
        const cardId = randomUUID();
        const card: CardRow = {
          id: cardId,
          agent_address: payment.payer,
          owner_address: body.ownerAddress ?? payment.payer,
          name_on_card: body.nameOnCard,
          email: body.email,
          status: 'active',
          details_revoked: 0,
          last_four: issued.details.cardNumber.slice(-4),
          details_ciphertext: ctx.cipher.encrypt(cardId, issued.details),
          provider_ref: issued.providerRef,
          created_at: nowMs,
          updated_at: nowMs,
        };
        await insertCard(trx, card);
        if (payment.load_cents > 0) {
          await addLedgerEntry(trx, { cardId, kind: 'initial_load', amountCents: payment.load_cents, paymentId: payment.id, description: 'initial load', nowMs });
        }
        return { cardId, body: { success: true, card: cardView(card, payment.load_cents), payment: paymentView(payment) } };
      },
    };
  },
});
