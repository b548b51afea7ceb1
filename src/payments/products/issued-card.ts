import { randomUUID } from 'node:crypto';
import type { CardDetails } from '../../cards/card-data.js';
import type { IssuedCard } from '../../cards/issuer.js';
import { addLedgerEntry, cardBalanceCents, findCard, insertCard, type Executor } from '../../cards/repository.js';
import { CardNetworkIndex } from '../../cards/spend/network-index.js';
import type { CardRow, PaymentRow } from '../../db/schema.js';
import { recordEvent } from '../../webhooks/events.js';
import type { ProductContext } from './product.js';

/**
 * Stores a card the issuer issued for a settled payment, inside the fulfilment transaction: the
 * card row (details encrypted), its card network index (HMACs of its data, never the data), its
 * initial load as a ledger entry and its `card.created` webhook event. Every product that issues a
 * card writes it this one way.
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
  await recordEvent(trx, { type: 'card.created', cardId, data: { cardId, status: row.status, balanceCents: payment.load_cents, paymentId: payment.id }, nowMs });
  return row;
}

/**
 * Loads a settled payment's amount onto an existing card, inside the fulfilment transaction: the
 * `fund` ledger entry and its `card.funded` webhook event; returns the new available balance.
 * A card closed since the payment was admitted takes nothing: the fulfilment fails and the payment
 * is refunded to its payer like any payment that cannot be fulfilled. Every product that funds a
 * card writes it this one way.
 */
export async function storeCardLoad(
  trx: Executor,
  load: { cardId: string; description: string },
  payment: Pick<PaymentRow, 'id' | 'load_cents'>,
  nowMs: number,
): Promise<number> {
  const { cardId } = load;
  if ((await findCard(trx, cardId))?.status === 'closed') throw new Error(`card ${cardId} was closed before payment ${payment.id} could fund it`);
  await addLedgerEntry(trx, { cardId, kind: 'fund', amountCents: payment.load_cents, paymentId: payment.id, description: load.description, nowMs });
  const balanceCents = await cardBalanceCents(trx, cardId, nowMs);
  await recordEvent(trx, { type: 'card.funded', cardId, data: { cardId, amountCents: payment.load_cents, balanceCents, paymentId: payment.id }, nowMs });
  return balanceCents;
}
