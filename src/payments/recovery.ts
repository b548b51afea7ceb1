import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Facilitator } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import { buildRequirements, type PaymentTerms } from '../x402/challenge.js';
import { X402_VERSION, type PaymentPayload, type PaymentRequirements } from '../protocol/x402.js';
import { authValidityLedgers } from '../x402/verify.js';
import { establishFate, type Fate, type LedgerEvidence } from './fate.js';
import { fulfilOrRecordFailure, type FulfilmentDeps } from './fulfilment.js';
import type { InFlight } from './in-flight.js';
import type { Refunds } from './refunds.js';
import { findPayment, listFailedUnderWatch, listPaymentsInStatus, transitionPayment } from './repository.js';
import type { Settlement } from './settlement.js';
import { UNFINISHED_STATUSES } from './state.js';
import { withAdvisoryLock } from '../db/leases.js';

export interface RecoveryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  terms: PaymentTerms;
  ledgerSeconds: number;
  facilitator: Facilitator;
  /** Our own view of the ledger, where the evidence that a payment reached us is read. */
  ledger?: LedgerEvidence | undefined;
  fulfilMaxAttempts: number;
  settlement: Settlement;
  fulfilment: FulfilmentDeps & { logger: Logger };
  refunds: Refunds;
  inFlight: InFlight;
  /** Settles mandate payments (payments/mandate-checkout.ts): their envelope is ours, not the facilitator's. */
  mandates?: { resumeSettling(payment: PaymentRow): Promise<void> } | undefined;
}

/**
 * Start-up recovery and the reconciler: every payment left unfinished (a crash, a lost answer, a
 * poll that timed out, a fulfilment that failed) is driven to `fulfilled`, `refunded`, `failed` or
 * `needs_review`, on the evidence docs/ARCHITECTURE.md ("What proves a payment") requires; and every
 * payment answered `failed` is watched until that verdict is final.
 */
export class Recovery {
  constructor(private readonly deps: RecoveryDeps) {}

  private payloadOf(payment: PaymentRow): { payload: PaymentPayload; requirements: PaymentRequirements } {
    const requirements: PaymentRequirements = {
      ...buildRequirements(this.deps.terms, BigInt(payment.amount_atomic)),
      network: payment.network,
      asset: payment.asset,
      payTo: payment.pay_to,
    };
    return { requirements, payload: { x402Version: X402_VERSION, accepted: requirements, payload: { transaction: payment.payment_xdr } } };
  }

  async resumeSafely(paymentId: string): Promise<void> {
    try {
      await this.resume(paymentId);
    } catch (err) {
      this.deps.logger.error('resuming payment failed; will try again', { paymentId, err });
    }
  }

  /** Drives one unfinished payment as far as it can go now. Returns its status afterwards. */
  async resume(paymentId: string): Promise<PaymentStatus | undefined> {
    if (!(await this.deps.inFlight.claim(paymentId))) return undefined;
    try {
      let payment = await findPayment(this.deps.db, paymentId);
      if (!payment) return undefined;
      if (payment.status === 'verified' || payment.status === 'settling') {
        await this.resumeSettlement(payment);
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      if (payment.status === 'settled' || payment.status === 'paid_unfulfilled') {
        if (payment.status === 'paid_unfulfilled' && payment.fulfil_attempts >= this.deps.fulfilMaxAttempts) {
          await this.deps.refunds.refund(payment);
        } else {
          await fulfilOrRecordFailure(this.deps.fulfilment, payment);
        }
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      if (payment.status === 'refunding') {
        await this.deps.refunds.refund(payment);
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      return payment.status;
    } finally {
      await this.deps.inFlight.release(paymentId);
    }
  }

  private async resumeSettlement(payment: PaymentRow): Promise<void> {
    if (payment.mandate_id) {
      if (this.deps.mandates) await this.deps.mandates.resumeSettling(payment);
      else this.deps.logger.error('a mandate payment is unfinished and this server does not serve mandates', { paymentId: payment.id });
      return;
    }
    const { facilitator } = this.deps;
    const nowMs = this.deps.clock.nowMs();
    const settled = (ledger: number) =>
      transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], { status: 'settled', settled_ledger: ledger, updated_at: nowMs });
    const failed = (reason: string) =>
      transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], { status: 'failed', last_error: reason, updated_at: nowMs });

    const hash = payment.settle_tx_hash;
    const envelopes = facilitator.envelopes;
    if (hash && payment.settle_envelope_xdr && envelopes) {
      // An envelope we built and recorded before sending: its hash commits to the payer's signed
      // entry and the one transfer it authorises, so the ledger's verdict on that hash is evidence.
      const found = await envelopes.lookup(hash);
      if (found.status === 'SUCCESS') return void (await settled(found.ledger));
      if (found.status === 'FAILED') return void (await failed('transaction_failed'));
      // Not on the ledger: offer the identical envelope again. Accepted or already queued → wait.
      const sent = await envelopes.resubmit(payment.settle_envelope_xdr);
      if (sent.status === 'PENDING' || sent.status === 'DUPLICATE' || sent.status === 'TRY_AGAIN_LATER') return;
      // Refused: this envelope can never land — unless it just did (a bad seq from its own success).
      const again = await envelopes.lookup(hash);
      if (again.status === 'SUCCESS') return void (await settled(again.ledger));
      if (again.status === 'FAILED') return void (await failed('transaction_failed'));
      // Dead envelope: settle afresh below. Settling re-verifies the payment, so an entry whose
      // nonce is spent fails there, and the failed-payment sweep then looks for its transfer.
    } else if (payment.status === 'settling' && !envelopes) {
      // Sent (or maybe sent) by an external facilitator: only the ledger can tell what happened.
      return this.resolveSettlingFromLedger(payment);
    }
    const { payload, requirements } = this.payloadOf(payment);
    const outcome = await this.deps.settlement.settle(payment, payload, requirements);
    if (outcome.status === 'success') {
      await transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], {
        status: 'settled',
        settle_tx_hash: outcome.txHash,
        settled_ledger: outcome.ledger ?? null,
        updated_at: this.deps.clock.nowMs(),
      });
    }
  }

  /** How long before its expiration ledger a payer's entry may have been used (see authValidityLedgers). */
  private validityLedgers(): number {
    return authValidityLedgers(this.deps.terms.maxTimeoutSeconds, this.deps.ledgerSeconds);
  }

  /** The ledger's verdict on a payment, or undefined (logged) when there is no ledger to ask. */
  private async fateOf(payment: PaymentRow, hint: string | null): Promise<Fate | undefined> {
    const ledger = this.deps.ledger;
    if (!ledger) return { kind: 'unknowable', reason: 'no_ledger_view' };
    return establishFate(ledger, payment, { validityLedgers: this.validityLedgers(), hint });
  }

  private async toReview(payment: PaymentRow, from: PaymentStatus, reason: string): Promise<void> {
    const moved = await transitionPayment(this.deps.db, payment.id, [from], { status: 'needs_review', last_error: reason, updated_at: this.deps.clock.nowMs() });
    if (moved) this.deps.logger.error('payment needs review: the ledger can no longer tell whether its transfer happened', { paymentId: payment.id, reason });
  }

  /** settling (external facilitator) → settled | failed | needs_review, or left as it is while the entry may still be used. */
  private async resolveSettlingFromLedger(payment: PaymentRow): Promise<void> {
    const fate = await this.fateOf(payment, payment.settle_tx_hash);
    if (!fate) return;
    const nowMs = this.deps.clock.nowMs();
    switch (fate.kind) {
      case 'transferred':
        await transitionPayment(this.deps.db, payment.id, ['settling'], { status: 'settled', settle_tx_hash: fate.txHash, settled_ledger: fate.ledger, updated_at: nowMs });
        return;
      case 'not_transferred':
        // Final: no transfer exists and none can appear (the failed-payment sweep has nothing left to watch).
        await transitionPayment(this.deps.db, payment.id, ['settling'], { status: 'failed', last_error: fate.reason, fate_closed_at: nowMs, updated_at: nowMs });
        if (fate.reason === 'nonce_spent_elsewhere') {
          this.deps.logger.warn("a payment's nonce was spent by another invocation of the payer's; no transfer reached us", { paymentId: payment.id });
        }
        return;
      case 'unknowable':
        return this.toReview(payment, 'settling', fate.reason);
      case 'open':
        return;
    }
  }

  /**
   * A payment we answered "failed" still carries the payer's signed entry until it expires, and
   * anyone holding it could submit it. Each is watched until its verdict is final: if its transfer
   * turns up (the transaction carrying that very entry and emitting the transfer to us), the money
   * did reach the treasury and the payer is refunded (they were told the payment failed and may
   * have paid again). A spent nonce alone is not that evidence: the payer can spend its own nonce on
   * any call of its own, and refunding on it would pay out money that never arrived.
   */
  private async sweepFailed(counts: Record<string, number>): Promise<void> {
    if (!this.deps.ledger) return;
    for (const payment of await listFailedUnderWatch(this.deps.db)) {
      if (this.deps.inFlight.has(payment.id)) continue;
      const fate = await this.fateOf(payment, null);
      if (!fate || fate.kind === 'open') continue;
      const nowMs = this.deps.clock.nowMs();
      if (fate.kind === 'not_transferred') {
        await transitionPayment(this.deps.db, payment.id, ['failed'], { fate_closed_at: nowMs, updated_at: nowMs });
        if (fate.reason === 'nonce_spent_elsewhere') {
          this.deps.logger.warn("a failed payment's nonce was spent by another invocation of the payer's; no transfer reached us, nothing is refunded", {
            paymentId: payment.id,
          });
        }
        continue;
      }
      if (fate.kind === 'unknowable') {
        await this.toReview(payment, 'failed', fate.reason);
        counts.needs_review = (counts.needs_review ?? 0) + 1;
        continue;
      }
      const moved = await transitionPayment(this.deps.db, payment.id, ['failed'], {
        status: 'paid_unfulfilled',
        settle_tx_hash: fate.txHash,
        settled_ledger: fate.ledger,
        fulfil_attempts: this.deps.fulfilMaxAttempts,
        last_error: 'settled_elsewhere_after_failure',
        updated_at: nowMs,
      });
      if (!moved) continue;
      this.deps.logger.error('the transfer of a payment reported failed reached us; refunding it', { paymentId: payment.id, txHash: fate.txHash });
      const status = await this.resume(payment.id);
      const key = status ?? 'skipped';
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }

  /**
   * One reconciler pass (also the start-up recovery): resumes every unfinished payment. With
   * several instances on one database, one pass runs at a time across all of them (an advisory
   * lock); an instance that finds a pass running skips its own.
   */
  async reconcile(): Promise<Record<string, number>> {
    const pass = await withAdvisoryLock(this.deps.db, 'reconciler', () => this.reconcilePass(), { wait: false });
    return pass.ran ? pass.value : {};
  }

  private async reconcilePass(): Promise<Record<string, number>> {
    const pending = await listPaymentsInStatus(this.deps.db, UNFINISHED_STATUSES);
    const counts: Record<string, number> = {};
    try {
      await this.sweepFailed(counts);
    } catch (err) {
      this.deps.logger.error('checking failed payments against the ledger failed; will retry', { err });
    }
    for (const payment of pending) {
      if (this.deps.inFlight.has(payment.id)) continue;
      let status: PaymentStatus | undefined;
      try {
        status = await this.resume(payment.id);
      } catch (err) {
        this.deps.logger.error('reconciling payment failed; will retry', { paymentId: payment.id, err });
      }
      const key = status ?? 'skipped';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }
}
