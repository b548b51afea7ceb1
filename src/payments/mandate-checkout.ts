import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CardIssuer } from '../cards/issuer.js';
import { immediateTransaction } from '../db/transaction.js';
import type { Db } from '../db/open.js';
import type { PaymentRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import { listMandatePurchases } from '../mandates/repository.js';
import { allowanceConsumedAtomic, brokenRule } from '../mandates/rules.js';
import { rulesOf, type MandateService } from '../mandates/service.js';
import { centsToAtomic, formatCents } from '../protocol/money/units.js';
import type { SettlementResponse } from '../protocol/x402.js';
import { InvocationRefusedError, type BuiltEnvelope, type MandateAccount } from '../stellar/mandate-account.js';
import type { PaymentTerms } from '../x402/challenge.js';
import { fingerprint } from './checkout.js';
import { detailsEnvelope, fulfilOrRecordFailure, replayBody, type FulfilmentDeps } from './fulfilment.js';
import type { InFlight } from './in-flight.js';
import { DuplicatePaymentError, findPaymentByIdempotencyKey, insertPayment, settlingPaymentRow, transitionPayment } from './repository.js';
import type { PaidOutcome, PaidRequest } from './types.js';

/** A purchase the agent makes within a mandate: wallet-signed, `X-MANDATE-ID` instead of a payment. */
export interface MandateCall {
  request: PaidRequest;
  agent: string;
  mandateId: string;
  idempotencyKey?: string | undefined;
}

export interface MandateCheckoutDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  terms: PaymentTerms;
  issuer: CardIssuer;
  mandates: MandateService;
  account: MandateAccount;
  fulfilment: FulfilmentDeps & { logger: Logger };
  inFlight: InFlight;
  ledgerSeconds: number;
  pollTimeoutMs: number;
  pollIntervalMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** Send refusals after which an envelope can never land (its sequence number is gone, or its time is up). */
const DEAD_ENVELOPE_CODES = new Set(['txBadSeq', 'txTooLate']);

/**
 * The mandate payment kind (docs/ARCHITECTURE.md, "Mandates"): the agent buys, the owner pays with
 * `transfer_from(spender, owner, treasury, price)` out of the allowance they approved. The order
 * is the paid request's: validate (route) → the mandate's rules (403, nothing sent) → capacity →
 * build the transfer from a simulation (a revoked or exhausted allowance is refused here) → record
 * the payment with its envelope, the rules and the allowance checked again in the same database
 * transaction (concurrent purchases cannot both fit) → send → fulfil or refund through the shared
 * machinery (fulfilment.ts, recovery.ts, refunds.ts). The payment's `payer` is the owner (refunds
 * go to them), its `holder` the agent (who gets the card).
 */
export class MandateCheckout {
  constructor(private readonly deps: MandateCheckoutDeps) {}

  private retryAfterSeconds(): number {
    return Math.max(1, this.deps.ledgerSeconds);
  }

  async handle(call: MandateCall): Promise<PaidOutcome> {
    const { request, agent } = call;
    const { product, price } = request;
    const { row } = await this.deps.mandates.state(call.mandateId);
    // Only the agent buys within its mandate; anyone else learns nothing of it.
    if (row.agent_address !== agent) throw new DomainError('mandate_not_found', 'mandate not found');
    const owner = row.owner_address;

    const requestFingerprint = fingerprint(request);
    if (call.idempotencyKey) {
      const keyed = await findPaymentByIdempotencyKey(this.deps.db, owner, product.kind, call.idempotencyKey);
      if (keyed) return this.replay(keyed, requestFingerprint, call);
    }
    this.refuseUnlessActive(row.phase);
    // As for any purchase: funding a card that is not the agent's (404) or is closed (409), before anything moves.
    const admission = product.admit ? await product.admit(this.deps.fulfilment, request.body, agent) : 'ok';
    if (admission !== 'ok') return admission === 'card_closed' ? { type: 'card_closed' } : { type: 'card_not_found' };
    const rules = rulesOf(row);
    const broken = brokenRule(rules, await listMandatePurchases(this.deps.db, row.id), this.deps.clock.nowMs(), price.totalCents);
    if (broken) throw ruleExceeded(broken.rule.period, broken.remainingCents);
    const capacity = await this.deps.issuer.checkCapacity({ loadCents: price.loadCents });
    if (!capacity.ok) return { type: 'provider_capacity', retryAfterSeconds: capacity.retryAfterSeconds };

    const amount = centsToAtomic(price.totalCents);
    const paymentId = randomUUID();
    const reserveCheck = (purchases: Awaited<ReturnType<typeof listMandatePurchases>>, nowMs: number) => {
      const again = brokenRule(rules, purchases, nowMs, price.totalCents);
      if (again) throw ruleExceeded(again.rule.period, again.remainingCents);
      if (allowanceConsumedAtomic(purchases) + amount > BigInt(row.allowance_atomic)) {
        throw new DomainError('mandate_allowance_exhausted', 'the mandate allowance left is less than the price; nothing was charged');
      }
    };
    const sent = await this.deps.account.exclusive(async () => {
      // Purchases that went ahead of this one while it waited its turn: the rules first, then the ledger.
      reserveCheck(await listMandatePurchases(this.deps.db, row.id), this.deps.clock.nowMs());
      let envelope: BuiltEnvelope;
      try {
        envelope = await this.deps.account.buildTransferFrom(owner, this.deps.terms.payTo, amount);
      } catch (err) {
        if (err instanceof InvocationRefusedError) throw await this.refusal(row.id, err);
        this.deps.logger.warn('a mandate purchase could not be prepared', { mandateId: row.id, err });
        return { type: 'network_unavailable' } as const;
      }
      const nowMs = this.deps.clock.nowMs();
      const payment = settlingPaymentRow(
        {
          id: paymentId,
          kind: product.kind,
          payer: owner,
          auth_nonce: `mandate:${paymentId}`,
          auth_expiration_ledger: 0,
          idempotency_key: call.idempotencyKey ?? null,
          request_fingerprint: requestFingerprint,
          request_json: JSON.stringify(request.body),
          network: this.deps.terms.network,
          asset: this.deps.terms.asset,
          pay_to: this.deps.terms.payTo,
          amount_atomic: amount.toString(),
          load_cents: price.loadCents,
          total_cents: price.totalCents,
          payment_xdr: envelope.envelopeXdr,
          settle_tx_hash: envelope.txHash,
          settle_envelope_xdr: envelope.envelopeXdr,
          mandate_id: row.id,
          holder: agent,
        },
        nowMs,
      );
      // The reservation: rules and allowance checked against every purchase on record, and this one
      // recorded with its envelope, in one write transaction; nothing is sent before it commits.
      try {
        await immediateTransaction(this.deps.db, async (trx) => {
          reserveCheck(await listMandatePurchases(trx, row.id), nowMs);
          await insertPayment(trx, payment);
        });
      } catch (err) {
        if (err instanceof DuplicatePaymentError && call.idempotencyKey) {
          const twin = await findPaymentByIdempotencyKey(this.deps.db, owner, product.kind, call.idempotencyKey);
          if (twin) return { type: 'replay', twin } as const;
        }
        throw err;
      }
      this.deps.inFlight.claim(paymentId);
      const sent = await this.deps.account.send(envelope.envelopeXdr).catch((err) => {
        // No answer: it may have been taken. Polled below; recovery resends the same envelope.
        this.deps.logger.warn('sending a mandate transfer got no answer; polling it', { paymentId, err });
        return undefined;
      });
      if (sent && (sent.status === 'ERROR' || sent.status === 'TRY_AGAIN_LATER')) {
        // Refused, not queued: this envelope, the only one for this payment, moved nothing.
        this.deps.inFlight.release(paymentId);
        await this.markFailed(paymentId, `send_refused:${sent.errorResultCode ?? sent.status}`);
        this.deps.logger.warn('the network refused a mandate transfer; nothing was charged', { paymentId, status: sent.status, code: sent.errorResultCode });
        return { type: 'network_unavailable' } as const;
      }
      return { type: 'sent', payment, landed: await this.await(envelope.txHash) } as const;
    });
    if (sent.type === 'network_unavailable') return sent;
    if (sent.type === 'replay') return this.replay(sent.twin, requestFingerprint, call);
    try {
      return await this.afterSend(sent.payment, sent.landed);
    } finally {
      this.deps.inFlight.release(paymentId);
    }
  }

  private async afterSend(payment: PaymentRow, landed: Awaited<ReturnType<MandateCheckout['await']>>): Promise<PaidOutcome> {
    if (landed.status === 'timeout') return { type: 'in_progress', paymentId: payment.id, retryAfterSeconds: this.retryAfterSeconds() };
    if (landed.status === 'FAILED') {
      await this.markFailed(payment.id, 'transaction_failed');
      throw await this.refusalAfterFailure(payment.mandate_id!);
    }
    const settlement = { txHash: payment.settle_tx_hash!, ledger: landed.ledger };
    const done = await fulfilOrRecordFailure(this.deps.fulfilment, { ...payment, settled_ledger: landed.ledger }, settlement);
    if (!done) return { type: 'fulfilment_failed', paymentId: payment.id, status: 'paid_unfulfilled', settlement: settlementOf(payment) };
    const body = done.details ? { ...done.storedBody, detailsEnvelope: detailsEnvelope(done.details) } : done.storedBody;
    return { type: 'fulfilled', httpStatus: done.httpStatus, body, settlement: settlementOf(payment) };
  }

  private async replay(payment: PaymentRow, requestFingerprint: string, call: MandateCall): Promise<PaidOutcome> {
    if (payment.request_fingerprint !== requestFingerprint || payment.mandate_id !== call.mandateId || payment.holder !== call.agent) return { type: 'idempotency_conflict' };
    switch (payment.status) {
      case 'fulfilled': {
        const { httpStatus, body } = replayBody(payment, call.request.product);
        return { type: 'fulfilled', httpStatus, body, settlement: settlementOf(payment) };
      }
      case 'needs_review':
        return { type: 'under_review', paymentId: payment.id };
      case 'paid_unfulfilled':
      case 'refunding':
      case 'refunded':
        return { type: 'fulfilment_failed', paymentId: payment.id, status: payment.status, settlement: settlementOf(payment), refundTxHash: payment.refund_tx_hash };
      case 'failed':
        // Nothing was charged; the key belongs to that attempt, a new purchase needs a new key.
        return { type: 'idempotency_conflict' };
      default:
        return { type: 'in_progress', paymentId: payment.id, retryAfterSeconds: this.retryAfterSeconds() };
    }
  }

  private refuseUnlessActive(phase: string): void {
    if (phase === 'active') return;
    if (phase === 'revoked') throw new DomainError('mandate_revoked', 'the owner revoked this mandate');
    throw new DomainError('mandate_not_active', phase === 'expired' ? 'this mandate has expired' : 'the owner has not approved this mandate yet', { phase });
  }

  /** The ledger refused the transfer in simulation: revoked (lowered on-chain), exhausted, or short of funds. */
  private async refusal(mandateId: string, err: InvocationRefusedError): Promise<DomainError> {
    if (err.isBalanceError) return new DomainError('mandate_owner_funds', "the owner's USDC balance is less than the price; nothing was charged");
    if (!err.isAllowanceError) return new DomainError('mandate_allowance_exhausted', 'the ledger refused the transfer; nothing was charged');
    return this.refusalAfterFailure(mandateId);
  }

  private async refusalAfterFailure(mandateId: string): Promise<DomainError> {
    const { row } = await this.deps.mandates.state(mandateId);
    if (row.phase === 'revoked') return new DomainError('mandate_revoked', 'the owner revoked the allowance on-chain; nothing was charged');
    if (row.phase === 'expired') return new DomainError('mandate_not_active', 'this mandate has expired; nothing was charged', { phase: row.phase });
    return new DomainError('mandate_allowance_exhausted', 'the on-chain allowance left is less than the price; nothing was charged');
  }

  private async markFailed(paymentId: string, reason: string): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    // Final at once: card402 built the only envelope that could move this payment's money, and it is dead.
    await transitionPayment(this.deps.db, paymentId, ['settling'], { status: 'failed', last_error: reason, fate_closed_at: nowMs, updated_at: nowMs });
  }

  private async await(txHash: string): Promise<{ status: 'SUCCESS'; ledger: number } | { status: 'FAILED' } | { status: 'timeout' }> {
    const deadline = this.deps.clock.nowMs() + this.deps.pollTimeoutMs;
    for (;;) {
      const found = await this.deps.account.lookup(txHash).catch(() => undefined);
      if (found?.status === 'SUCCESS') return { status: 'SUCCESS', ledger: found.ledger };
      if (found?.status === 'FAILED') return { status: 'FAILED' };
      if (this.deps.clock.nowMs() >= deadline) return { status: 'timeout' };
      await this.deps.sleep(this.deps.pollIntervalMs);
    }
  }

  /**
   * Recovery of a mandate payment left `settling` (a crash, a poll that timed out): the envelope we
   * recorded before sending is the only transaction that can move its money, so the ledger's verdict
   * on its hash decides — SUCCESS → settled (then fulfilled or refunded as any payment), FAILED →
   * failed; not found → the identical envelope is offered again, and once it can never land
   * (sequence used or time bounds passed) → failed.
   */
  async resumeSettling(payment: PaymentRow): Promise<void> {
    const hash = payment.settle_tx_hash;
    const envelope = payment.settle_envelope_xdr;
    if (!hash || !envelope) return this.markFailed(payment.id, 'no_envelope_recorded');
    const settled = (ledger: number) =>
      transitionPayment(this.deps.db, payment.id, ['verified', 'settling'], { status: 'settled', settled_ledger: ledger, updated_at: this.deps.clock.nowMs() });
    const found = await this.deps.account.lookup(hash);
    if (found.status === 'SUCCESS') return void (await settled(found.ledger));
    if (found.status === 'FAILED') return this.markFailed(payment.id, 'transaction_failed');
    const sent = await this.deps.account.send(envelope);
    if (sent.status !== 'ERROR') return;
    const again = await this.deps.account.lookup(hash);
    if (again.status === 'SUCCESS') return void (await settled(again.ledger));
    if (again.status === 'FAILED') return this.markFailed(payment.id, 'transaction_failed');
    if (sent.errorResultCode && DEAD_ENVELOPE_CODES.has(sent.errorResultCode)) return this.markFailed(payment.id, `envelope_dead:${sent.errorResultCode}`);
  }
}

function ruleExceeded(period: string, remainingCents: number): DomainError {
  return new DomainError('mandate_rule_exceeded', `the mandate's ${period} rule does not allow this purchase; nothing was charged`, {
    period,
    remaining: formatCents(remainingCents),
  });
}

function settlementOf(payment: PaymentRow): SettlementResponse {
  return { success: true, transaction: payment.settle_tx_hash ?? '', network: payment.network, payer: payment.payer };
}
