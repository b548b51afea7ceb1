import { z } from 'zod';
import { claimPaymentRequest, completePaymentRequest, findPaymentRequest } from '../../approvals/repository.js';
import { findCard } from '../../cards/repository.js';
import { PAYMENT_REQUEST_ID } from '../../protocol/payment-requests.js';
import { paymentView } from '../views.js';
import { storeCardLoad, storeIssuedCard } from './issued-card.js';
import { defineProduct } from './product.js';

export interface OwnerApprovedBody {
  requestId: string;
}

const createBody = z.object({ nameOnCard: z.string(), email: z.string() });
const fundBody = z.object({ cardId: z.string() });

/**
 * A purchase an owner approved and paid from a payment request's link (issue 16): a new card or a
 * top-up, paid by the owner's wallet and held by the agent that asked. It has no route of its own:
 * the approval route (http/routes/payment-requests.ts) prices it from the request's quote. The
 * payment claims the request in the write that records it (`claim`), so one request is paid at
 * most once however many payments are sent for it, and a rejected or expired request never is;
 * fulfilment issues (or funds) the card and completes the request in one db transaction, and a
 * card that cannot be provided is refunded to the owner like any other purchase.
 */
export const ownerApproved = defineProduct<OwnerApprovedBody>({
  kind: 'owner_approved',
  description: 'A card purchase approved and paid by its owner (payment request)',
  successStatus: 200,
  body: z.object({ requestId: z.string().regex(PAYMENT_REQUEST_ID) }),
  async claim(trx, payment, body) {
    return claimPaymentRequest(trx, body.requestId, { id: payment.id, payer: payment.payer, amountAtomic: payment.amount_atomic }, payment.created_at);
  },
  async prepare(ctx, payment, body) {
    const request = await findPaymentRequest(ctx.db, body.requestId);
    if (!request) throw new Error(`payment request ${body.requestId} of payment ${payment.id} is missing`);
    // Only the payment that holds the claim fulfils it; any other (a failed payment whose transfer
    // turned up after the request was paid by another) fails here and is refunded.
    if (request.payment_id !== payment.id) throw new Error(`payment request ${request.id} is claimed by another payment`);
    const complete = async (trx: Parameters<typeof completePaymentRequest>[0], cardId: string, nowMs: number) => {
      if (!(await completePaymentRequest(trx, request.id, payment.id, cardId, nowMs))) throw new Error(`payment request ${request.id} is no longer approved by payment ${payment.id}`);
    };

    if (request.kind === 'create') {
      const asked = createBody.parse(JSON.parse(request.body_json));
      const issued = await ctx.issuer.issueCard({ requestKey: payment.id, nameOnCard: asked.nameOnCard, email: asked.email, loadCents: payment.load_cents });
      return {
        async write(trx, nowMs) {
          const card = await storeIssuedCard(
            trx,
            ctx,
            {
              holder: request.agent_address,
              owner: payment.payer,
              nameOnCard: asked.nameOnCard,
              email: asked.email,
              issued,
              loadDescription: 'initial load (owner-approved)',
            },
            payment,
            nowMs,
          );
          const cardId = card.id;
          await complete(trx, cardId, nowMs);
          // The owner's answer: no card data (the agent, its holder, reads it with its own wallet).
          return { cardId, body: { success: true, id: request.id, status: 'completed', cardId, payment: paymentView(payment) } };
        },
      };
    }

    const asked = fundBody.parse(JSON.parse(request.body_json));
    const card = await findCard(ctx.db, asked.cardId);
    if (!card) throw new Error(`card ${asked.cardId} of payment request ${request.id} is missing`);
    await ctx.issuer.fundCard({ requestKey: payment.id, providerRef: card.provider_ref, amountCents: payment.load_cents });
    return {
      async write(trx, nowMs) {
        await storeCardLoad(trx, { cardId: card.id, description: 'top-up (owner-approved)' }, payment, nowMs);
        await complete(trx, card.id, nowMs);
        return { cardId: card.id, body: { success: true, id: request.id, status: 'completed', cardId: card.id, payment: paymentView(payment) } };
      },
    };
  },
});
