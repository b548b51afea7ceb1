import { recordEvent } from '../../webhooks/events.js';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { addLedgerEntry, insertCard } from '../../cards/repository.js';
import { CardNetworkIndex } from '../../cards/spend/network-index.js';
import type { CardRow } from '../../db/schema.js';
import { createCardRequestSchema, createCardResultSchema } from '../../protocol/api.js';
import { priceCardCreation } from '../../protocol/money/pricing.js';
import { cardView, paymentView } from '../views.js';
import { defineProduct } from './product.js';

/** The body as the route parsed it with the API's schema (`nameOnCard` trimmed); `ownerAddress` defaults to the payer. */
export type CreateCardBody = z.output<typeof createCardRequestSchema>;

/** A new virtual card with an initial load (0 for a card only): `POST /cards/create/tier/:amount`. */
export const createCard = defineProduct<CreateCardBody>({
  kind: 'create',
  route: '/cards/create/tier/:amount',
  description: 'Create a virtual card',
  successStatus: 201,
  body: createCardRequestSchema,
  response: createCardResultSchema,
  price: (params) => priceCardCreation(params.amount ?? ''),
  async prepare(ctx, payment, body) {
    const issued = await ctx.issuer.issueCard({ requestKey: payment.id, nameOnCard: body.nameOnCard, email: body.email, loadCents: payment.load_cents });
    return {
      details: issued.details,
      async write(trx, nowMs) {
        const cardId = randomUUID();
        const card: CardRow = {
          id: cardId,
          // Within a mandate the agent (holder) gets the card and the mandate's owner (payer) owns it.
          agent_address: payment.holder ?? payment.payer,
          owner_address: payment.mandate_id ? payment.payer : (body.ownerAddress ?? payment.payer),
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
        // The card network finds the card by HMACs of its data (never the data itself).
        await new CardNetworkIndex(ctx.cipher).add(trx, { cardId, providerRef: issued.providerRef, details: issued.details, nowMs });
        if (payment.load_cents > 0) {
          await addLedgerEntry(trx, { cardId, kind: 'initial_load', amountCents: payment.load_cents, paymentId: payment.id, description: 'initial load', nowMs });
        }
        await recordEvent(trx, { type: 'card.created', cardId, data: { cardId, status: card.status, balanceCents: payment.load_cents, paymentId: payment.id }, nowMs });
        return { cardId, body: { success: true, card: cardView(card, payment.load_cents), payment: paymentView(payment) } };
      },
    };
  },
});
