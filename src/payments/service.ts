import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CardDataCipher } from '../cards/card-data.js';
import type { CardIssuer } from '../cards/issuer.js';
import { findCard } from '../cards/repository.js';
import type { Db } from '../db/open.js';
import { WriteBatcher } from '../db/write-batch.js';
import type { PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Facilitator, SettleOutcome } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import { provesTransfer } from '../stellar/transfer-evidence.js';
import { establishFate, expectedTransferOf, type Fate, type LedgerEvidence } from './fate.js';
import type { Treasury } from '../stellar/treasury.js';
import { buildPaymentRequired, buildRequirements, type PaymentTerms } from '../x402/challenge.js';
import { decodePaymentHeader } from '../x402/codec.js';
import { X402_VERSION, type PaymentPayload, type PaymentRequirements, type SettlementResponse } from '../x402/types.js';
import { authValidityLedgers, inspectPayment } from '../x402/verify.js';
import {
  detailsEnvelope,
  fulfilFromStates,
  fulfilPayment,
  replayBody,
  settlementColumns,
  type FulfilmentDeps,
  type UnrecordedSettlement,
} from './fulfilment.js';
import {
  DuplicatePaymentError,
  findPayment,
  findPaymentByIdempotencyKey,
  findPaymentByNonce,
  insertPayment,
  listFailedUnderWatch,
  listPaymentsInStatus,
  replaceRefund,
  transitionPayment,
} from './repository.js';
import { UNFINISHED_STATUSES } from './state.js';
import type { PaidCall, PaidOutcome, PaidRequest } from './types.js';

export interface PaymentServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  terms: PaymentTerms;
  networkPassphrase: string;
  facilitator: Facilitator;
  issuer: CardIssuer;
  cipher: CardDataCipher;
  /**
   * Our own view of the ledger, where the evidence that a payment reached us is read: transactions
   * an external facilitator sent, and transfers made with a payment we answered "failed".
   * Without it such payments cannot be proven and are never fulfilled nor refunded.
   */
  ledger?: LedgerEvidence | undefined;
  /** Sends refunds; without it unfulfillable payments stay paid_unfulfilled (and are logged). */
  treasury?: Treasury | undefined;
  maxFeeStroops: bigint;
  ledgerSeconds: number;
  fulfilMaxAttempts: number;
  /** How long a refund poll waits for the refund to land before leaving it to the next pass. */
  refundPollTimeoutMs?: number;
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const DESCRIPTIONS = { create: 'Create a virtual card', fund: 'Fund a virtual card' } as const;

function fingerprint(request: PaidRequest): string {
  return createHash('sha256')
    .update(JSON.stringify({ kind: request.kind, amount: request.price.totalAtomic.toString(), load: request.price.loadCents, body: request.body }))
    .digest('hex');
}

/**
 * Orchestrates a paid request in the order that never gives anything away:
 * validate (route) → capacity → inspect payment → dedupe (payer, nonce) / idempotency key →
 * verify on the ledger → record with the first envelope → send → fulfil in one db transaction; failures after settlement
 * are retried and finally refunded on-chain. Also the reconciler for everything left unfinished.
 */
export class PaymentService {
  /** Payments this process is working on right now; the reconciler leaves them alone. */
  private readonly claimed = new Set<string>();
  private readonly fulfilment: FulfilmentDeps;
  /** The writes of a paid request's critical path, group-committed (see WriteBatcher). */
  private readonly writer: WriteBatcher;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: PaymentServiceDeps) {
    this.writer = new WriteBatcher(deps.db);
    this.fulfilment = { db: deps.db, writer: this.writer, clock: deps.clock, issuer: deps.issuer, cipher: deps.cipher };
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  requirementsFor(request: PaidRequest): PaymentRequirements {
    return buildRequirements(this.deps.terms, request.price.totalAtomic);
  }

  private challenge(call: PaidCall, requirements: PaymentRequirements, error: string): PaidOutcome {
    return {
      type: 'payment_required',
      paymentRequired: buildPaymentRequired({ resourceUrl: call.resourceUrl, description: DESCRIPTIONS[call.request.kind], requirements, error }),
    };
  }

  private settlementOf(payment: PaymentRow): SettlementResponse {
    return { success: true, transaction: payment.settle_tx_hash ?? '', network: payment.network, payer: payment.payer };
  }

  private retryAfterSeconds(): number {
    return Math.max(1, this.deps.ledgerSeconds);
  }

  async handle(call: PaidCall): Promise<PaidOutcome> {
    const { request } = call;
    const requirements = this.requirementsFor(request);

    // A card to fund must exist before anything is asked for.
    const card = request.kind === 'fund' ? await findCard(this.deps.db, request.body.cardId) : undefined;
    if (request.kind === 'fund' && !card) return { type: 'card_not_found' };

    if (!call.paymentHeader) {
      const capacity = await this.deps.issuer.checkCapacity({ loadCents: request.price.loadCents });
      if (!capacity.ok) return { type: 'provider_capacity', retryAfterSeconds: capacity.retryAfterSeconds };
      return this.challenge(call, requirements, 'payment required');
    }

    const decoded = decodePaymentHeader(call.paymentHeader);
    if (!decoded.ok) return this.challenge(call, requirements, decoded.reason);
    const payload = decoded.payload;

    let facilitatorAddresses: ReadonlySet<string>;
    try {
      facilitatorAddresses = await this.deps.facilitator.addresses();
    } catch (err) {
      this.deps.logger.warn('the facilitator could not be reached', { err });
      return { type: 'network_unavailable' };
    }
    const inspected = inspectPayment(payload, requirements, {
      networkPassphrase: this.deps.networkPassphrase,
      facilitatorAddresses,
      maxFeeStroops: this.deps.maxFeeStroops,
    });
    if (!inspected.ok) return this.challenge(call, requirements, inspected.reason);
    const { payer, nonce, expirationLedger } = inspected.value;

    // Funding someone else's card is refused before any money moves (404, as for unknown cards).
    if (card && card.agent_address !== payer && card.owner_address !== payer) return { type: 'card_not_found' };

    const requestFingerprint = fingerprint(request);
    const seen = await findPaymentByNonce(this.deps.db, payer, nonce.toString());
    if (seen) return this.replay(seen, requestFingerprint, call, requirements);
    if (call.idempotencyKey) {
      const keyed = await findPaymentByIdempotencyKey(this.deps.db, payer, request.kind, call.idempotencyKey);
      if (keyed) return this.replay(keyed, requestFingerprint, call, requirements);
    }

    const capacity = await this.deps.issuer.checkCapacity({ loadCents: request.price.loadCents });
    if (!capacity.ok) return { type: 'provider_capacity', retryAfterSeconds: capacity.retryAfterSeconds };

    let verified;
    try {
      verified = await this.deps.facilitator.verify(payload, requirements, inspected.value);
    } catch (err) {
      this.deps.logger.warn('payment verification could not reach the network', { err });
      return { type: 'network_unavailable' };
    }
    if (!verified.ok) {
      // A concurrent copy may have settled meanwhile (its nonce is now spent): answer as a replay.
      const raced = await findPaymentByNonce(this.deps.db, payer, nonce.toString());
      if (raced) return this.replay(raced, requestFingerprint, call, requirements);
      return this.challenge(call, requirements, verified.reason);
    }

    const nowMs = this.deps.clock.nowMs();
    const paymentId = randomUUID();
    // The row as it will be recorded. It is written when settlement starts, in the same write as the
    // first envelope (see settle()): nothing can be sent before it is on disk, and a paid card costs
    // one commit fewer. The (payer, nonce) and idempotency-key claims are made by that write.
    const recorded: PaymentRow = {
      id: paymentId,
      kind: request.kind,
      payer,
      auth_nonce: nonce.toString(),
      auth_expiration_ledger: expirationLedger,
      idempotency_key: call.idempotencyKey ?? null,
      request_fingerprint: requestFingerprint,
      request_json: JSON.stringify(request.body),
      network: requirements.network,
      asset: requirements.asset,
      pay_to: requirements.payTo,
      amount_atomic: requirements.amount,
      load_cents: request.price.loadCents,
      total_cents: request.price.totalCents,
      payment_xdr: payload.payload.transaction,
      status: 'settling',
      settle_tx_hash: null,
      settle_envelope_xdr: null,
      settled_ledger: null,
      card_id: null,
      response_json: null,
      last_error: null,
      refund_tx_hash: null,
      refund_envelope_xdr: null,
      fulfil_attempts: 0,
      created_at: nowMs,
      updated_at: nowMs,
      fate_closed_at: null,
    };
    this.claimed.add(paymentId);
    try {
      return await this.settleAndFulfil(call, recorded, payload, requirements, verified.token);
    } catch (err) {
      if (!(err instanceof DuplicatePaymentError)) throw err;
      // A copy of this payment (or of this idempotency key) was recorded first: answer as its replay.
      const twin =
        (await findPaymentByNonce(this.deps.db, payer, nonce.toString())) ??
        (call.idempotencyKey ? await findPaymentByIdempotencyKey(this.deps.db, payer, request.kind, call.idempotencyKey) : undefined);
      if (!twin) throw err;
      return this.replay(twin, requestFingerprint, call, requirements);
    } finally {
      this.claimed.delete(paymentId);
    }
  }

  /** The same payment (or idempotency key) again: the first result, never a second charge. */
  private async replay(payment: PaymentRow, requestFingerprint: string, call: PaidCall, requirements: PaymentRequirements): Promise<PaidOutcome> {
    if (payment.request_fingerprint !== requestFingerprint || payment.kind !== call.request.kind) return { type: 'idempotency_conflict' };
    switch (payment.status) {
      case 'fulfilled': {
        const { httpStatus, body } = await replayBody(payment);
        return { type: 'fulfilled', httpStatus, body, settlement: this.settlementOf(payment) };
      }
      case 'failed':
        return this.challenge(call, requirements, 'payment_failed');
      case 'needs_review':
        return { type: 'under_review', paymentId: payment.id };
      case 'paid_unfulfilled':
      case 'refunding':
      case 'refunded':
        return {
          type: 'fulfilment_failed',
          paymentId: payment.id,
          status: payment.status,
          settlement: this.settlementOf(payment),
          refundTxHash: payment.refund_tx_hash,
        };
      default:
        // verified, settling, settled: in flight here, or left by a crash (resume it now).
        if (!this.claimed.has(payment.id)) void this.resumeSafely(payment.id);
        return { type: 'in_progress', paymentId: payment.id, retryAfterSeconds: this.retryAfterSeconds() };
    }
  }

  private async settleAndFulfil(
    call: PaidCall,
    recorded: PaymentRow,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    token: unknown,
  ): Promise<PaidOutcome> {
    const outcome = await this.settle(recorded, payload, requirements, token, true);
    // No money moved: a fresh challenge, so the payer can sign a new payment.
    if (outcome.status === 'failed') return this.challenge(call, requirements, 'settlement_failed');
    if (outcome.status === 'pending') return { type: 'in_progress', paymentId: recorded.id, retryAfterSeconds: this.retryAfterSeconds() };
    // Settled: the payment stays `settling` in the database until fulfilment records the settlement
    // and the card in one db transaction (one write instead of two; see UnrecordedSettlement).
    const settlement: UnrecordedSettlement = { txHash: outcome.txHash, ledger: outcome.ledger ?? null };
    return this.fulfil({ ...recorded, status: 'settling', settle_tx_hash: settlement.txHash, settled_ledger: settlement.ledger }, settlement);
  }

  /**
   * (new) | verified | settling → settling (hash recorded before each send) → failed | still settling.
   * A success is returned, not written: the caller records it (with the card, or as `settled`).
   * With `insert`, `payment` is a new payment not written yet: the first write below inserts it, and
   * throws DuplicatePaymentError (before anything is sent) when a copy of it was recorded first.
   */
  private async settle(
    payment: PaymentRow,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    token?: unknown,
    insert = false,
  ): Promise<SettleOutcome> {
    const paymentId = payment.id;
    let toInsert = insert ? payment : undefined;
    const record = async (columns: { status: PaymentStatus; settle_tx_hash?: string; settle_envelope_xdr?: string; last_error?: string }) => {
      const nowMs = this.deps.clock.nowMs();
      if (toInsert) {
        const row: PaymentRow = { ...toInsert, ...columns, updated_at: nowMs };
        await this.writer.run((trx) => insertPayment(trx, row));
        toInsert = undefined;
        return;
      }
      const moved = await this.writer.run((trx) => transitionPayment(trx, paymentId, ['verified', 'settling'], { ...columns, updated_at: nowMs }));
      if (!moved && columns.status === 'settling') throw new Error(`payment ${paymentId} is not settleable`);
    };
    // A facilitator that reports each envelope before sending records it in the same write that
    // marks the payment `settling`; any other is recorded as `settling` before it is called.
    if (this.deps.facilitator.kind !== 'local') await record({ status: 'settling' });
    let outcome: SettleOutcome;
    try {
      outcome = await this.deps.facilitator.settle(payload, requirements, {
        verified: token,
        onSubmitting: (txHash, envelopeXdr) => record({ status: 'settling', settle_tx_hash: txHash, settle_envelope_xdr: envelopeXdr }),
      });
    } catch (err) {
      if (err instanceof DuplicatePaymentError) throw err;
      if (!toInsert) {
        // We cannot tell whether anything was sent: stay `settling`, the reconciler resolves it.
        this.deps.logger.error('settlement interrupted', { paymentId, err });
        return { status: 'pending', reason: 'settle_error' };
      }
      // Nothing was recorded, so nothing was sent (every envelope is recorded before its send).
      this.deps.logger.error('settlement failed before anything was sent', { paymentId, err });
      outcome = { status: 'failed', reason: 'settle_error' };
    }
    if (outcome.status === 'success' && this.deps.facilitator.kind !== 'local') outcome = await this.confirmClaimedSettlement(payment, outcome);
    if (toInsert && outcome.status !== 'failed') {
      // Not reachable with our facilitators (each send is recorded first); never lose a settlement.
      await record({ status: 'settling', ...(outcome.txHash ? { settle_tx_hash: outcome.txHash } : {}) });
    }
    const nowMs = this.deps.clock.nowMs();
    if (outcome.status === 'success') {
      this.deps.logger.info('payment settled', { paymentId, txHash: outcome.txHash });
    } else if (outcome.status === 'failed') {
      // Recorded even when nothing was sent: the failed-payment sweep watches the payer's nonce.
      await record({ status: 'failed', last_error: outcome.reason });
      this.deps.logger.warn('payment settlement failed; no money moved', { paymentId, reason: outcome.reason });
    } else {
      if (outcome.txHash && this.deps.facilitator.kind !== 'local') {
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
    const deadline = this.deps.clock.nowMs() + (this.deps.refundPollTimeoutMs ?? 30_000);
    for (;;) {
      const detail = await ledger.transactionDetail(claimed.txHash).catch(() => undefined);
      if (detail && detail.status !== 'NOT_FOUND') {
        if (provesTransfer(detail, expected)) return { status: 'success', txHash: claimed.txHash, ledger: detail.ledger };
        this.deps.logger.error('a facilitator reported a transaction that is not this payment’s transfer', { paymentId: payment.id, txHash: claimed.txHash });
        return { status: 'pending', txHash: claimed.txHash, reason: 'settlement_unproven' };
      }
      if (this.deps.clock.nowMs() >= deadline) return { status: 'pending', txHash: claimed.txHash, reason: 'settlement_not_seen' };
      await this.sleep(this.deps.pollIntervalMs ?? 500);
    }
  }

  /**
   * settled|paid_unfulfilled → fulfilled, or → paid_unfulfilled (retried later, refunded at the end).
   * With `settlement` (just settled by this request, see UnrecordedSettlement): settling → the same.
   */
  private async fulfil(payment: PaymentRow, settlement?: UnrecordedSettlement): Promise<PaidOutcome> {
    const paymentId = payment.id;
    try {
      const done = await fulfilPayment(this.fulfilment, payment, settlement);
      const body = done.details ? { ...done.storedBody, detailsEnvelope: detailsEnvelope(done.details) } : done.storedBody;
      this.deps.logger.info('payment fulfilled', { paymentId, kind: payment.kind });
      return { type: 'fulfilled', httpStatus: done.httpStatus, body, settlement: this.settlementOf(payment) };
    } catch (err) {
      const attempts = payment.fulfil_attempts + 1;
      await transitionPayment(this.deps.db, paymentId, fulfilFromStates(settlement), {
        status: 'paid_unfulfilled',
        ...settlementColumns(settlement),
        fulfil_attempts: attempts,
        last_error: err instanceof Error ? err.message.slice(0, 200) : 'fulfilment failed',
        updated_at: this.deps.clock.nowMs(),
      });
      this.deps.logger.error('fulfilment failed after settlement; will retry or refund', { paymentId, attempts, err });
      return { type: 'fulfilment_failed', paymentId, status: 'paid_unfulfilled', settlement: this.settlementOf(payment) };
    }
  }

  // --- recovery and reconciliation -------------------------------------------------------------

  private payloadOf(payment: PaymentRow): { payload: PaymentPayload; requirements: PaymentRequirements } {
    const requirements: PaymentRequirements = {
      ...buildRequirements(this.deps.terms, BigInt(payment.amount_atomic)),
      network: payment.network,
      asset: payment.asset,
      payTo: payment.pay_to,
    };
    return { requirements, payload: { x402Version: X402_VERSION, accepted: requirements, payload: { transaction: payment.payment_xdr } } };
  }

  private async resumeSafely(paymentId: string): Promise<void> {
    try {
      await this.resume(paymentId);
    } catch (err) {
      this.deps.logger.error('resuming payment failed; will try again', { paymentId, err });
    }
  }

  /** Drives one unfinished payment as far as it can go now. Returns its status afterwards. */
  async resume(paymentId: string): Promise<PaymentStatus | undefined> {
    if (this.claimed.has(paymentId)) return undefined;
    this.claimed.add(paymentId);
    try {
      let payment = await findPayment(this.deps.db, paymentId);
      if (!payment) return undefined;
      if (payment.status === 'verified' || payment.status === 'settling') {
        await this.resumeSettlement(payment);
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      if (payment.status === 'settled' || payment.status === 'paid_unfulfilled') {
        if (payment.status === 'paid_unfulfilled' && payment.fulfil_attempts >= this.deps.fulfilMaxAttempts) {
          await this.refund(payment);
        } else {
          await this.fulfil(payment);
        }
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      if (payment.status === 'refunding') {
        await this.refund(payment);
        payment = (await findPayment(this.deps.db, paymentId))!;
      }
      return payment.status;
    } finally {
      this.claimed.delete(paymentId);
    }
  }

  private async resumeSettlement(payment: PaymentRow): Promise<void> {
    const { facilitator } = this.deps;
    const nowMs = this.deps.clock.nowMs();
    const settled = (ledger: number) =>
      transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], { status: 'settled', settled_ledger: ledger, updated_at: nowMs });
    const failed = (reason: string) =>
      transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], { status: 'failed', last_error: reason, updated_at: nowMs });

    const hash = payment.settle_tx_hash;
    if (hash && payment.settle_envelope_xdr && facilitator.lookup && facilitator.resubmit) {
      // An envelope we built and recorded before sending: its hash commits to the payer's signed
      // entry and the one transfer it authorises, so the ledger's verdict on that hash is evidence.
      const found = await facilitator.lookup(hash);
      if (found.status === 'SUCCESS') return void (await settled(found.ledger));
      if (found.status === 'FAILED') return void (await failed('transaction_failed'));
      // Not on the ledger: offer the identical envelope again. Accepted or already queued → wait.
      const sent = await facilitator.resubmit(payment.settle_envelope_xdr);
      if (sent.status === 'PENDING' || sent.status === 'DUPLICATE' || sent.status === 'TRY_AGAIN_LATER') return;
      // Refused: this envelope can never land — unless it just did (a bad seq from its own success).
      const again = await facilitator.lookup(hash);
      if (again.status === 'SUCCESS') return void (await settled(again.ledger));
      if (again.status === 'FAILED') return void (await failed('transaction_failed'));
      // Dead envelope: settle afresh below. Settling re-verifies the payment, so an entry whose
      // nonce is spent fails there, and the failed-payment sweep then looks for its transfer.
    } else if (payment.status === 'settling' && !facilitator.lookup) {
      // Sent (or maybe sent) by an external facilitator: only the ledger can tell what happened.
      return this.resolveSettlingFromLedger(payment);
    }
    const { payload, requirements } = this.payloadOf(payment);
    const outcome = await this.settle(payment, payload, requirements);
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

  private async refund(payment: PaymentRow): Promise<void> {
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
      const sent = await treasury.send(built.envelopeXdr);
      if (sent.status === 'PENDING' || sent.status === 'DUPLICATE') await this.awaitRefund(current.id, built.txHash);
    });
  }

  private async awaitRefund(paymentId: string, txHash: string): Promise<void> {
    const treasury = this.deps.treasury!;
    const deadline = this.deps.clock.nowMs() + (this.deps.refundPollTimeoutMs ?? 30_000);
    for (;;) {
      const found = await treasury.lookup(txHash);
      if (found.status === 'SUCCESS') return this.markRefunded(paymentId);
      if (found.status === 'FAILED') return;
      if (this.deps.clock.nowMs() >= deadline) return;
      await this.sleep(this.deps.pollIntervalMs ?? 500);
    }
  }

  private async markRefunded(paymentId: string): Promise<void> {
    await transitionPayment(this.deps.db, paymentId, ['refunding'], { status: 'refunded', updated_at: this.deps.clock.nowMs() });
    this.deps.logger.warn('payment refunded on-chain', { paymentId });
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
      if (this.claimed.has(payment.id)) continue;
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

  /** One reconciler pass (also the start-up recovery): resumes every unfinished payment. */
  async reconcile(): Promise<Record<string, number>> {
    const pending = await listPaymentsInStatus(this.deps.db, UNFINISHED_STATUSES);
    const counts: Record<string, number> = {};
    try {
      await this.sweepFailed(counts);
    } catch (err) {
      this.deps.logger.error('checking failed payments against the ledger failed; will retry', { err });
    }
    for (const payment of pending) {
      if (this.claimed.has(payment.id)) continue;
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

  /** Runs reconcile() every `intervalMs` until stopped; never overlaps itself. */
  startReconciler(intervalMs: number): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    let stopped = false;
    const timer = setInterval(() => {
      if (stopped) return;
      running = running.then(() => (stopped ? undefined : this.reconcile())).catch((err) => this.deps.logger.error('reconciler pass failed', { err }));
    }, intervalMs);
    timer.unref();
    return {
      async stop() {
        stopped = true;
        clearInterval(timer);
        await running;
      },
    };
  }

  async paymentStatus(paymentId: string): Promise<PaymentRow | undefined> {
    return findPayment(this.deps.db, paymentId);
  }
}
