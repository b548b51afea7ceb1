import { randomUUID } from 'node:crypto';
import type { CardDetails } from '../../cards/card-data.js';
import type { IssuedCard } from '../../cards/issuer.js';
import { addLedgerEntry, insertCard, type Executor } from '../../cards/repository.js';
import { CardNetworkIndex } from '../../cards/spend/network-index.js';
import type { CardRow, PaymentRow } from '../../db/schema.js';
import type { ProductContext } from './product.js';

/**
 * Stores a card the issuer issued for a settled payment, inside the fulfilment transaction: the
 * card row (details encrypted), its card network index (HMACs of its data, never the data), and its
 * initial load as a ledger entry. Every product that issues a card writes it this one way.
 */
export async function storeIssuedCard(
  trx: Executor,
  ctx: Pick<ProductContext, 'cipher'>,
  card: { holder: string; owner: string; nameOnCard: string; email: string; issued: IssuedCard; loadDescription: string },
  payment: Pick<PaymentRow, 'id' | 'load_cents'>,
  nowMs: number,
): Promise<CardRow> {
  const cardId = randomUUID();
  const details: CardDetails = card.issued.details;
  const row: CardRow = {
    id: cardId,
    agent_address: card.holder,
    owner_address: card.owner,
    name_on_card: card.nameOnCard,
    email: card.email,
    status: 'active',
    details_revoked: 0,
    last_four: details.cardNumber.slice(-4),
    details_ciphertext: ctx.cipher.encrypt(cardId, details),
    provider_ref: card.issued.providerRef,
    created_at: nowMs,
    updated_at: nowMs,
  };
  await insertCard(trx, row);
  await new CardNetworkIndex(ctx.cipher).add(trx, { cardId, providerRef: card.issued.providerRef, details, nowMs });
  if (payment.load_cents > 0) {
    await addLedgerEntry(trx, { cardId, kind: 'initial_load', amountCents: payment.load_cents, paymentId: payment.id, description: card.loadDescription, nowMs });
  }
  return row;
}
