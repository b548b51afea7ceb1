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

/**
 * Refunds from the treasury, on-chain: paid_unfulfilled → refunding → refunded. A refund is
 * recorded (compare-and-set on the refund on record) before it is sent, and an envelope is sent
 * again only while it can still land, so one payment is refunded at most once across processes.
 */
export class Refunds {
  constructor(private readonly deps: RefundDeps) {}

  async refund(payment: PaymentRow): Promise<void> {
    const treasury = this.deps.treasury;
    if (!treasury) {
      this.deps.logger.error('payment cannot be fulfilled and no treasury is configured to refund it', { paymentId: payment.id });
      return;
    }
    await treasury.exclusive(async () => {
      let current = (await findPayment(this.deps.db, payment.id))!;
      if (current.status === 'paid_unfulfilled') {
        const moved = await transitionPayment(this.deps.db, current.id, ['paid_unfulfilled'], { status: 'refunding', updated_at: this.deps.clock.nowMs() });
        if (!moved) return;
        current = (await findPayment(this.deps.db, payment.id))!;
      }
      if (current.status !== 'refunding') return;
      if (current.refund_tx_hash && current.refund_envelope_xdr) {
        const found = await treasury.lookup(current.refund_tx_hash);
        if (found.status === 'SUCCESS') return this.markRefunded(current.id);
        if (found.status === 'NOT_FOUND') {
          const sent = await treasury.send(current.refund_envelope_xdr);
          if (sent.status !== 'ERROR') return this.awaitRefund(current.id, current.refund_tx_hash);
          const again = await treasury.lookup(current.refund_tx_hash);
          if (again.status === 'SUCCESS') return this.markRefunded(current.id);
          if (again.status === 'NOT_FOUND' && sent.errorResultCode !== 'txBadSeq' && sent.errorResultCode !== 'txTooLate') {
            return; // refused for a reason that may pass (fees…): try the same envelope next time
          }
        }
        // FAILED, or provably dead: build a new refund below.
      }
      const built = await treasury.buildRefund(current.payer, BigInt(current.amount_atomic));
      const recorded = await replaceRefund(this.deps.db, current.id, current.refund_tx_hash, {
        txHash: built.txHash,
        envelopeXdr: built.envelopeXdr,
        nowMs: this.deps.clock.nowMs(),
      });
      if (!recorded) return; // another process recorded its own refund first; that one is followed up
      this.deps.metrics?.refund('sent');
      const sent = await treasury.send(built.envelopeXdr);
      if (sent.status === 'PENDING' || sent.status === 'DUPLICATE') await this.awaitRefund(current.id, built.txHash);
    });
  }

  private async awaitRefund(paymentId: string, txHash: string): Promise<void> {
    const treasury = this.deps.treasury!;
    const deadline = this.deps.clock.nowMs() + (this.deps.pollTimeoutMs);
    for (;;) {
      const found = await treasury.lookup(txHash);
      if (found.status === 'SUCCESS') return this.markRefunded(paymentId);
      if (found.status === 'FAILED') return;
      if (this.deps.clock.nowMs() >= deadline) return;
      await this.deps.sleep(this.deps.pollIntervalMs);
    }
  }

  private async markRefunded(paymentId: string): Promise<void> {
    await transitionPayment(this.deps.db, paymentId, ['refunding'], { status: 'refunded', updated_at: this.deps.clock.nowMs() });
    this.deps.metrics?.refund('landed');
    this.deps.logger.warn('payment refunded on-chain', { paymentId });
  }
}
