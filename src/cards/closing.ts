import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import { immediateTransaction } from '../db/transaction.js';
import type { CardClosureRow, CardRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import { centsToAtomic } from '../protocol/money/units.js';
import { findClosure, insertClosure } from './closure-repository.js';
import { recordEvent } from '../webhooks/events.js';
import { releasePendingHolds } from './spend/service.js';
import { cardQueue, lockCard } from './spend/repository.js';
import { addLedgerEntry, cardBalanceCents, setCardStatus, type Executor } from './repository.js';

/** Sends a closed card's owed balance on-chain (src/payments/closure-refunds.ts); waits a bounded time for it to land. */
export interface ClosureRefundSender {
  send(cardId: string): Promise<void>;
}

export const CLOSURE_LEDGER_DESCRIPTION = 'card closed: available balance returned on-chain to the owner';

export interface ClosedCard {
  cardId: string;
  closure: CardClosureRow;
}

const notFound = () => new DomainError('card_not_found', 'card not found');

/**
 * Closing a card for good (DELETE /cards/:cardId, owner only). In one transaction: the card becomes
 * `closed`, its pending holds are released, its available balance leaves the card (a `closure`
 * ledger entry) and a refund of it to the owner is recorded (`card_closures`, `refunding`). Only
 * after that commit is anything built or sent (ClosureRefundSender: the machinery of payment
 * refunds), so a crash at any point leaves a recorded refund that recovery sends exactly once.
 * Closing a closed card again answers the closure on record and moves nothing.
 */
export class CardClosing {
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger; refunds?: ClosureRefundSender | undefined }) {}

  async close(wallet: string, cardId: string): Promise<ClosedCard> {
    const { db, clock } = this.deps;
    const nowMs = clock.nowMs();
    const outcome = await immediateTransaction<{ closure: CardClosureRow; card: CardRow } | { error: DomainError }>(db, async (trx) => {
      const card = await lockCard(trx, cardId);
      if (!card || (card.agent_address !== wallet && card.owner_address !== wallet)) return { error: notFound() };
      if (card.owner_address !== wallet) {
        return { error: new DomainError('owner_only', "only the card's owner wallet may close the card (the owner role is needed)") };
      }
      const existing = await findClosure(trx, card.id);
      if (card.status === 'closed' && existing) return { closure: existing, card };

      await releasePendingHolds(trx, card.id, nowMs);
      const available = await cardBalanceCents(trx, card.id, nowMs);
      const amountCents = Math.max(0, available);
      await setCardStatus(trx, card.id, 'closed', nowMs);
      if (amountCents > 0) {
        await addLedgerEntry(trx, { cardId: card.id, kind: 'closure', amountCents: -amountCents, paymentId: null, description: CLOSURE_LEDGER_DESCRIPTION, nowMs });
      }
      const closure: CardClosureRow = {
        card_id: card.id,
        refund_to: card.owner_address,
        amount_cents: amountCents,
        amount_atomic: centsToAtomic(amountCents).toString(),
        refund_status: amountCents > 0 ? 'refunding' : 'none',
        refund_tx_hash: null,
        refund_envelope_xdr: null,
        closed_by: wallet,
        closed_at: nowMs,
        updated_at: nowMs,
      };
      await insertClosure(trx, closure);
      await recordEvent(trx, {
        type: 'card.closed',
        cardId: card.id,
        data: { cardId: card.id, closedBy: wallet, refund: { to: closure.refund_to, amountCents: amountCents, status: closure.refund_status } },
        nowMs,
      });
      return { closure, card };
    }, { queueOn: cardQueue(cardId) });
    if ('error' in outcome) throw outcome.error;
    if (outcome.closure.refund_status === 'refunding') await this.sendRefund(cardId);
    return { cardId, closure: (await findClosure(db, cardId))! };
  }

  /** The closure of a card, if it was closed (GET /cards/:cardId shows it). */
  closureOf(cardId: string): Promise<CardClosureRow | undefined> {
    return findClosure(this.deps.db, cardId);
  }

  /** One attempt now; whatever is left owed (no treasury, a slow ledger, an error) the reconciler finishes. */
  private async sendRefund(cardId: string): Promise<void> {
    if (!this.deps.refunds) {
      this.deps.logger.error('a closed card owes its balance and nothing is configured to send it', { cardId });
      return;
    }
    try {
      await this.deps.refunds.send(cardId);
    } catch (err) {
      this.deps.logger.error('sending a closed card balance failed; the reconciler retries', { cardId, err });
    }
  }
}
