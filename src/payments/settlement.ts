import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { WriteBatcher } from '../db/write-batch.js';
import type { PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Facilitator, SettleOutcome, VerificationHandle } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import { provesTransfer } from '../stellar/transfer-evidence.js';
import type { PaymentPayload, PaymentRequirements } from '../protocol/x402.js';
import type { Metrics } from '../metrics/index.js';
import { expectedTransferOf, type LedgerEvidence } from './fate.js';
import { DuplicatePaymentError, insertPayment, transitionPayment } from './repository.js';
import type { Executor } from '../cards/repository.js';

/**
 * What a product reserves for a new payment in the write that records it (PaidProduct.claim):
 * false refuses the payment before anything is sent.
 */
export type PaymentClaim = (trx: Executor, payment: PaymentRow) => Promise<boolean>;

/** A product refused to reserve what a new payment pays for: nothing was recorded, nothing sent. */
export class ClaimRefusedError extends Error {
  override name = 'ClaimRefusedError';
}

export interface SettlementDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  facilitator: Facilitator;
  /** Where an external facilitator's claims are checked (see confirmClaimedSettlement). */
  ledger?: LedgerEvidence | undefined;
  /** The writes of a paid request's critical path, group-committed (see WriteBatcher). */
  writer: WriteBatcher;
  /** How long a claimed settlement is looked for on our own RPC before it is left to recovery. */
  pollTimeoutMs: number;
  pollIntervalMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Settlement outcomes and the submit → success latency. */
  metrics?: Metrics | undefined;
}

/**
 * Settling one payment, shared by the paid request (checkout.ts) and recovery (recovery.ts): the
 * payment is recorded `settling` with each envelope before that envelope is sent, a success is
 * returned (never written here: the caller records it with the card, or as `settled`), a failure
 * is recorded, and anything that may still land stays `settling` for recovery
 * (docs/ARCHITECTURE.md, "One paid request").
 */
export class Settlement {
  constructor(private readonly deps: SettlementDeps) {}

  /**
   * (new) | verified | settling → settling (hash recorded before each send) → failed | still settling.
   * A success is returned, not written: the caller records it (with the card, or as `settled`).
   * With `insert`, `payment` is a new payment not written yet: the first write below inserts it, and
   * throws DuplicatePaymentError (before anything is sent) when a copy of it was recorded first.
   * `claim` runs in that same first write, after the insert; when it answers false the write is
   * rolled back and ClaimRefusedError is thrown, before anything is sent.
   */
  async settle(
    payment: PaymentRow,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    verified?: VerificationHandle,
    insert = false,
    claim?: PaymentClaim,
  ): Promise<SettleOutcome> {
    const paymentId = payment.id;
    let toInsert = insert ? payment : undefined;
    const record = async (columns: { status: PaymentStatus; settle_tx_hash?: string; settle_envelope_xdr?: string; last_error?: string }) => {
      const nowMs = this.deps.clock.nowMs();
      if (toInsert) {
        const row: PaymentRow = { ...toInsert, ...columns, updated_at: nowMs };
        await this.deps.writer.run(async (trx) => {
          await insertPayment(trx, row);
          if (claim && !(await claim(trx, row))) throw new ClaimRefusedError(`payment ${paymentId} was refused by its product`);
        });
        toInsert = undefined;
        return;
      }
      const moved = await this.deps.writer.run((trx) => transitionPayment(trx, paymentId, ['verified', 'settling'], { ...columns, updated_at: nowMs }));
      if (!moved && columns.status === 'settling') throw new Error(`payment ${paymentId} is not settleable`);
    };
    // A facilitator that reports each envelope before sending records it in the same write that
    // marks the payment `settling`; any other is recorded as `settling` before it is called.
    if (!this.deps.facilitator.envelopes) await record({ status: 'settling' });
    let outcome: SettleOutcome;
    // Submit → success is timed from the first envelope handed to the network (or, for a facilitator
    // that does not report its envelopes, from the call that submits).
    let submittedAtMs = this.deps.facilitator.envelopes ? undefined : performance.now();
    try {
      outcome = await this.deps.facilitator.settle(payload, requirements, {
        verified,
        onSubmitting: async (txHash, envelopeXdr) => {
          await record({ status: 'settling', settle_tx_hash: txHash, settle_envelope_xdr: envelopeXdr });
          submittedAtMs ??= performance.now();
        },
      });
    } catch (err) {
      if (err instanceof DuplicatePaymentError || err instanceof ClaimRefusedError) throw err;
      if (!toInsert) {
        // We cannot tell whether anything was sent: stay `settling`, the reconciler resolves it.
        this.deps.logger.error('settlement interrupted', { paymentId, err });
        return { status: 'pending', reason: 'settle_error' };
      }
      // Nothing was recorded, so nothing was sent (every envelope is recorded before its send).
      this.deps.logger.error('settlement failed before anything was sent', { paymentId, err });
      outcome = { status: 'failed', reason: 'settle_error' };
    }
    if (outcome.status === 'success' && !this.deps.facilitator.envelopes) outcome = await this.confirmClaimedSettlement(payment, outcome);
    if (toInsert && outcome.status !== 'failed') {
      // Not reachable with our facilitators (each send is recorded first); never lose a settlement.
      await record({ status: 'settling', ...(outcome.txHash ? { settle_tx_hash: outcome.txHash } : {}) });
    }
    const nowMs = this.deps.clock.nowMs();
    this.deps.metrics?.settlement(outcome.status, submittedAtMs === undefined ? undefined : (performance.now() - submittedAtMs) / 1000);
    if (outcome.status === 'success') {
      this.deps.logger.info('payment settled', { paymentId, txHash: outcome.txHash });
    } else if (outcome.status === 'failed') {
      // Recorded even when nothing was sent: the failed-payment sweep watches the payer's nonce.
      await record({ status: 'failed', last_error: outcome.reason });
      this.deps.logger.warn('payment settlement failed; no money moved', { paymentId, reason: outcome.reason });
    } else {
      if (outcome.txHash && !this.deps.facilitator.envelopes) {
        await transitionPayment(this.deps.db, paymentId, ['settling'], { settle_tx_hash: outcome.txHash, updated_at: nowMs });
      }
      this.deps.logger.warn('settlement not confirmed yet; left to the reconciler', { paymentId, reason: outcome.reason });
    }
    return outcome;
  }

  /**
   * An external facilitator's "success" is a claim: it becomes a settlement only once our own view
   * of the ledger shows the transfer (docs/ARCHITECTURE.md, "What proves a payment"). The RPC we
   * read may lag the facilitator's by a ledger or two, so a transaction not found yet is looked up
   * again until the poll timeout; after that, or when the transaction is not this payment's
   * transfer, the payment stays `settling` with the claimed hash and the reconciler establishes
   * its fate from the ledger.
   */
  private async confirmClaimedSettlement(payment: PaymentRow, claimed: SettleOutcome & { status: 'success' }): Promise<SettleOutcome> {
    const ledger = this.deps.ledger;
    const expected = expectedTransferOf(payment);
    if (!ledger || !expected) {
      this.deps.logger.error('a facilitator reported a settlement that card402 cannot check; left for review', { paymentId: payment.id });
      return { status: 'pending', txHash: claimed.txHash, reason: 'settlement_unproven' };
    }
    const deadline = this.deps.clock.nowMs() + (this.deps.pollTimeoutMs);
    for (;;) {
      const detail = await ledger.transactionDetail(claimed.txHash).catch(() => undefined);
      if (detail && detail.status !== 'NOT_FOUND') {
        if (provesTransfer(detail, expected)) return { status: 'success', txHash: claimed.txHash, ledger: detail.ledger };
        this.deps.logger.error('a facilitator reported a transaction that is not this payment’s transfer', { paymentId: payment.id, txHash: claimed.txHash });
        return { status: 'pending', txHash: claimed.txHash, reason: 'settlement_unproven' };
      }
      if (this.deps.clock.nowMs() >= deadline) return { status: 'pending', txHash: claimed.txHash, reason: 'settlement_not_seen' };
      await this.deps.sleep(this.deps.pollIntervalMs);
    }
  }
}
