import type { z } from 'zod';
import { createCardRequestSchema, createCardResultSchema } from '../../protocol/api.js';
import { priceCardCreation } from '../../protocol/money/pricing.js';
import { cardView, paymentView } from '../views.js';
import { storeIssuedCard } from './issued-card.js';
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
        const card = await storeIssuedCard(
          trx,
          ctx,
          {
            // Within a mandate the agent (holder) gets the card and the mandate's owner (payer) owns it.
            holder: payment.holder ?? payment.payer,
            owner: payment.mandate_id ? payment.payer : (body.ownerAddress ?? payment.payer),
            nameOnCard: body.nameOnCard,
            email: body.email,
            issued,
            loadDescription: 'initial load',
          },
          payment,
          nowMs,
        );
        const cardId = card.id;
        return { cardId, body: { success: true, card: cardView(card, payment.load_cents), payment: paymentView(payment) } };
      },
    };
  },
});
