import type { z } from 'zod';
import { findCard } from '../../cards/repository.js';
import { fundCardRequestSchema, fundCardResultSchema } from '../../protocol/api.js';
import { priceCardFunding } from '../../protocol/money/pricing.js';
import { centsToDollarNumber } from '../../protocol/money/units.js';
import { paymentView } from '../views.js';
import { storeCardLoad } from './issued-card.js';
import { defineProduct } from './product.js';

export type FundCardBody = z.output<typeof fundCardRequestSchema>;

/** A top-up of an existing card: `POST /cards/fund/tier/:amount`. */
export const fundCard = defineProduct<FundCardBody>({
  kind: 'fund',
  route: '/cards/fund/tier/:amount',
  description: 'Fund a virtual card',
  successStatus: 200,
  body: fundCardRequestSchema,
  response: fundCardResultSchema,
  price: (params) => priceCardFunding(params.amount ?? ''),
  // The card must exist before anything is asked for, and funding a card the payer neither holds
  // nor owns is refused before any money moves: 404 both, as for an unknown card.
  async admit(ctx, body, payer) {
    const card = await findCard(ctx.db, body.cardId);
    if (!card) return 'not_found';
    if (payer !== undefined && card.agent_address !== payer && card.owner_address !== payer) return 'not_found';
    // A closed card takes no money: refused before the 402, and again before any payment is settled.
    if (card.status === 'closed') return 'card_closed';
    return 'ok';
  },
  async prepare(ctx, payment, body) {
    const card = await findCard(ctx.db, body.cardId);
    if (!card) throw new Error(`card ${body.cardId} for payment ${payment.id} is missing`);
    await ctx.issuer.fundCard({ requestKey: payment.id, providerRef: card.provider_ref, amountCents: payment.load_cents });
    return {
      async write(trx, nowMs) {
        const newBalance = await storeCardLoad(trx, { cardId: card.id, description: 'top-up' }, payment, nowMs);
        return {
          cardId: card.id,
          body: {
            success: true,
            cardId: card.id,
            fundedAmount: centsToDollarNumber(payment.load_cents),
            newBalance: centsToDollarNumber(newBalance),
            payment: paymentView(payment),
          },
        };
      },
    };
  },
});
