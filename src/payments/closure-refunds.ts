import { findClosure, listOwedClosures, markClosureRefunded, replaceClosureRefund } from '../cards/closure-repository.js';
import type { ClosureRefundSender } from '../cards/closing.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { Logger } from '../logger.js';
import type { Treasury } from '../stellar/treasury.js';
import { recordEvent } from '../webhooks/events.js';
import { RefundSender, type RefundDeps, type RefundRecords } from './refunds.js';

/** Closed cards' refunds as RefundRecords: a closure in `refunding` owes its amount to the owner it names. */
function closureRefundRecords(db: Db, logger: Logger): RefundRecords {
  return {
    async owed(cardId) {
      const closure = await findClosure(db, cardId);
      if (closure?.refund_status !== 'refunding') return undefined;
      return { id: cardId, to: closure.refund_to, amountAtomic: BigInt(closure.amount_atomic), txHash: closure.refund_tx_hash, envelopeXdr: closure.refund_envelope_xdr };
    },
    replace: (cardId, expectedTxHash, next) => replaceClosureRefund(db, cardId, expectedTxHash, next),
    async markRefunded(cardId, txHash, nowMs) {
      // The refunded status and its webhook event (to the card's holder and owner) in one transaction.
      const landed = await db.transaction().execute(async (trx) => {
        if (!(await markClosureRefunded(trx, cardId, txHash, nowMs))) return false;
        const closure = (await findClosure(trx, cardId))!;
        await recordEvent(trx, {
          type: 'card.balance_refunded',
          cardId,
          data: { cardId, to: closure.refund_to, amountAtomic: closure.amount_atomic, refundTxHash: txHash },
          nowMs,
        });
        return true;
      });
      if (landed) logger.info('closed card balance returned on-chain', { cardId, txHash });
    },
  };
}

/**
 * Sends the balance of a closed card back to its owner with the machinery of payment refunds
 * (RefundSender: recorded before sent, evidence from the ledger before anything is sent again), one
 * treasury transaction at a time. The close request drives it once; start-up recovery and the
 * reconciler (`resumeAll`) finish whatever a crash or a slow ledger left owed.
 */
export class ClosureRefunds implements ClosureRefundSender {
  private readonly sender: RefundSender | undefined;
  private readonly records: RefundRecords;

  constructor(private readonly deps: Pick<RefundDeps, 'pollTimeoutMs' | 'pollIntervalMs' | 'sleep' | 'metrics'> & { db: Db; clock: Clock; logger: Logger; treasury?: Treasury | undefined }) {
    this.sender = deps.treasury ? new RefundSender({ ...deps, treasury: deps.treasury }) : undefined;
    this.records = closureRefundRecords(deps.db, deps.logger);
  }

  async send(cardId: string): Promise<void> {
    const { treasury } = this.deps;
    if (!treasury || !this.sender) {
      this.deps.logger.error('a closed card owes its balance and no treasury is configured to send it', { cardId });
      return;
    }
    const sender = this.sender;
    await treasury.exclusive(() => sender.drive(this.records, cardId));
  }

  /** Drives every owed closure refund once; returns how many are still owed after the pass. */
  async resumeAll(): Promise<{ refunded: number; owed: number }> {
    const owed = await listOwedClosures(this.deps.db);
    let refunded = 0;
    for (const closure of owed) {
      try {
        await this.send(closure.card_id);
      } catch (err) {
        this.deps.logger.error('sending a closed card balance failed; will retry', { cardId: closure.card_id, err });
      }
      if ((await findClosure(this.deps.db, closure.card_id))?.refund_status === 'refunded') refunded += 1;
    }
    return { refunded, owed: owed.length - refunded };
  }
}
