import { recordEvent } from '../webhooks/events.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { PaymentRow } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { Treasury } from '../stellar/treasury.js';
import { findPayment, replaceRefund, transitionPayment } from './repository.js';

export interface RefundDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Sends refunds; without it unfulfillable payments stay paid_unfulfilled (and are logged). */
  treasury?: Treasury | undefined;
  /** How long a refund poll waits for the refund to land before leaving it to the next pass. */
  pollTimeoutMs: number;
  pollIntervalMs: number;
  sleep: (ms: number) => Promise<void>;
  metrics?: Metrics | undefined;
}

/** A refund on record that is still owed: to whom, how much, and the envelope recorded for it, if any. */
export interface OwedRefund {
  id: string;
  to: string;
  amountAtomic: bigint;
  txHash: string | null;
  envelopeXdr: string | null;
}

/**
 * Where a kind of refund is recorded (a payment's, a closed card's). Every write is
 * compare-and-set on the refund on record, so two processes never send two different refunds.
 */
export interface RefundRecords {
  /** The refund while it is owed (recorded, not yet proven landed); undefined otherwise. */
  owed(id: string): Promise<OwedRefund | undefined>;
  /** Records a new envelope only if the one on record is still `expectedTxHash` (null for none). */
  replace(id: string, expectedTxHash: string | null, next: { txHash: string; envelopeXdr: string; nowMs: number }): Promise<boolean>;
  /** The refund's transaction succeeded on the ledger. */
  markRefunded(id: string, txHash: string, nowMs: number): Promise<void>;
}

/**
 * Sends owed refunds from the treasury, on-chain, exactly once: the refund is recorded before
 * anything is built; each envelope (and its hash) is recorded, compare-and-set, before it is sent;
 * the ledger is asked about the recorded hash before anything is sent again; and an envelope is
 * sent again only while it can still land (a new one replaces it only when it provably cannot).
 * Payment refunds and closed cards' refunds both go through `drive`.
 */
export class RefundSender {
  constructor(private readonly deps: Omit<RefundDeps, 'db' | 'logger' | 'treasury'> & { treasury: Treasury }) {}

  /** Drives one owed refund as far as it goes now. Call it inside `treasury.exclusive`. */
  async drive(records: RefundRecords, id: string): Promise<void> {
    const { treasury } = this.deps;
    const current = await records.owed(id);
    if (!current) return;
    if (current.txHash && current.envelopeXdr) {
      const found = await treasury.lookup(current.txHash);
      if (found.status === 'SUCCESS') return this.landed(records, id, current.txHash);
      if (found.status === 'NOT_FOUND') {
        const sent = await treasury.send(current.envelopeXdr);
        if (sent.status !== 'ERROR') return this.awaitRefund(records, id, current.txHash);
        const again = await treasury.lookup(current.txHash);
        if (again.status === 'SUCCESS') return this.landed(records, id, current.txHash);
        if (again.status === 'NOT_FOUND' && sent.errorResultCode !== 'txBadSeq' && sent.errorResultCode !== 'txTooLate') {
          return; // refused for a reason that may pass (fees…): try the same envelope next time
        }
      }
      // FAILED, or provably dead: build a new refund below.
    }
    const built = await treasury.buildRefund(current.to, current.amountAtomic);
    const recorded = await records.replace(id, current.txHash, { txHash: built.txHash, envelopeXdr: built.envelopeXdr, nowMs: this.deps.clock.nowMs() });
    if (!recorded) return; // another process recorded its own refund first; that one is followed up
    this.deps.metrics?.refund('sent');
    const sent = await treasury.send(built.envelopeXdr);
    if (sent.status === 'PENDING' || sent.status === 'DUPLICATE') await this.awaitRefund(records, id, built.txHash);
  }

  private async landed(records: RefundRecords, id: string, txHash: string): Promise<void> {
    await records.markRefunded(id, txHash, this.deps.clock.nowMs());
    this.deps.metrics?.refund('landed');
  }

  private async awaitRefund(records: RefundRecords, id: string, txHash: string): Promise<void> {
    const { treasury, clock } = this.deps;
    const deadline = clock.nowMs() + this.deps.pollTimeoutMs;
    for (;;) {
      const found = await treasury.lookup(txHash);
      if (found.status === 'SUCCESS') return this.landed(records, id, txHash);
      if (found.status === 'FAILED') return;
      if (clock.nowMs() >= deadline) return;
      await this.deps.sleep(this.deps.pollIntervalMs);
    }
  }
}

/** Payment refunds as RefundRecords: a payment in `refunding` owes its amount to its payer. */
function paymentRefundRecords(db: Db, logger: Logger): RefundRecords {
  return {
    async owed(id) {
      const payment = await findPayment(db, id);
      if (payment?.status !== 'refunding') return undefined;
      return { id, to: payment.payer, amountAtomic: BigInt(payment.amount_atomic), txHash: payment.refund_tx_hash, envelopeXdr: payment.refund_envelope_xdr };
    },
    replace: (id, expectedTxHash, next) => replaceRefund(db, id, expectedTxHash, next),
    async markRefunded(id, _txHash, nowMs) {
      // The refunded status and its webhook event (to the payer, and the card's wallets if any) in one transaction.
      await db.transaction().execute(async (trx) => {
        if (!(await transitionPayment(trx, id, ['refunding'], { status: 'refunded', updated_at: nowMs }))) return;
        const payment = (await findPayment(trx, id))!;
        await recordEvent(trx, {
          type: 'payment.refunded',
          cardId: payment.card_id,
          wallets: [payment.payer],
          data: { paymentId: id, kind: payment.kind, payer: payment.payer, amountAtomic: payment.amount_atomic, refundTxHash: payment.refund_tx_hash },
          nowMs,
        });
      });
      logger.warn('payment refunded on-chain', { paymentId: id });
    },
  };
}

/**
 * Refunds of payments that cannot be fulfilled: paid_unfulfilled → refunding → refunded. The move to
 * `refunding` is the record of the refund, made before anything is built or sent; RefundSender does
 * the rest, so one payment is refunded at most once across processes.
 */
export class Refunds {
  private readonly sender: RefundSender | undefined;
  private readonly records: RefundRecords;

  constructor(private readonly deps: RefundDeps) {
    this.sender = deps.treasury ? new RefundSender({ ...deps, treasury: deps.treasury }) : undefined;
    this.records = paymentRefundRecords(deps.db, deps.logger);
  }

  async refund(payment: PaymentRow): Promise<void> {
    const { treasury } = this.deps;
    if (!treasury || !this.sender) {
      this.deps.logger.error('payment cannot be fulfilled and no treasury is configured to refund it', { paymentId: payment.id });
      return;
    }
    const sender = this.sender;
    await treasury.exclusive(async () => {
      const current = (await findPayment(this.deps.db, payment.id))!;
      if (current.status === 'paid_unfulfilled') {
        const moved = await transitionPayment(this.deps.db, current.id, ['paid_unfulfilled'], { status: 'refunding', updated_at: this.deps.clock.nowMs() });
        if (!moved) return;
      } else if (current.status !== 'refunding') {
        return;
      }
      await sender.drive(this.records, current.id);
    });
  }
}
