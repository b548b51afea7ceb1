import type { CardRow, PaymentRow } from '../db/schema.js';
import { centsToDollarNumber } from '../protocol/money/units.js';

/** The `payment` object of a paid response (ASG's shape). */
export function paymentView(payment: PaymentRow): Record<string, unknown> {
  return {
    amountCharged: centsToDollarNumber(payment.total_cents),
    txHash: payment.settle_tx_hash,
    network: payment.network,
    paymentId: payment.id,
  };
}

/** The `card` object of a card creation response (ASG's shape). */
export function cardView(card: CardRow, balanceCents: number): Record<string, unknown> {
  return {
    cardId: card.id,
    nameOnCard: card.name_on_card,
    balance: centsToDollarNumber(balanceCents),
    status: card.status,
    createdAt: new Date(card.created_at).toISOString(),
  };
}

