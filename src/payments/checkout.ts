import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Executor } from '../cards/repository.js';
import type { CardIssuer } from '../cards/issuer.js';
import type { Db } from '../db/open.js';
import type { PaymentRow } from '../db/schema.js';
import type { Facilitator, VerificationHandle } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import { buildPaymentRequired, buildRequirements, type PaymentTerms } from '../x402/challenge.js';
import { decodePaymentHeader } from '../protocol/x402-codec.js';
import type { PaymentPayload, PaymentRequirements, SettlementResponse } from '../protocol/x402.js';
import { inspectPayment } from '../x402/verify.js';
import { detailsEnvelope, fulfilOrRecordFailure, replayBody, type FulfilmentDeps, type UnrecordedSettlement } from './fulfilment.js';
import type { InFlight } from './in-flight.js';
import type { Admission } from './products/product.js';
import { DuplicatePaymentError, findPaymentByIdempotencyKey, findPaymentByNonce, settlingPaymentRow } from './repository.js';
import { ClaimRefusedError, type Settlement } from './settlement.js';
import type { PaidCall, PaidOutcome, PaidRequest } from './types.js';

export interface CheckoutDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  terms: PaymentTerms;
  networkPassphrase: string;
  facilitator: Facilitator;
  issuer: CardIssuer;
  maxFeeStroops: bigint;
  ledgerSeconds: number;
  settlement: Settlement;
  fulfilment: FulfilmentDeps & { logger: Logger };
  inFlight: InFlight;
  /** A replay found its payment left unfinished by a crash: recovery resumes it (never awaited). */
  resumeInBackground: (paymentId: string) => void;
}

/** What a product's refusal to admit a purchase answers (before any payment is asked for or taken). */
function admissionRefusal(admission: Exclude<Admission, 'ok'>): PaidOutcome {
  return admission === 'card_closed' ? { type: 'card_closed' } : { type: 'card_not_found' };
}

export function fingerprint(request: PaidRequest): string {
  return createHash('sha256')
    .update(JSON.stringify({ kind: request.product.kind, amount: request.price.totalAtomic.toString(), load: request.price.loadCents, body: request.body }))
    .digest('hex');
}

/**
 * The paid request, in the order that never gives anything away (docs/ARCHITECTURE.md, "One paid
 * request"): validate (route) → capacity → inspect payment → dedupe (payer, nonce) / idempotency
 * key → verify on the ledger → record with the first envelope → send → fulfil in one db
 * transaction. Failures after settlement are left to recovery (recovery.ts).
 */
export class Checkout {
  constructor(private readonly deps: CheckoutDeps) {}

  requirementsFor(request: PaidRequest): PaymentRequirements {
    return buildRequirements(this.deps.terms, request.price.totalAtomic);
  }

  /** A 402: a first challenge (no reason), or a refused payment with our reason beside its x402 code. */
  private challenge(call: PaidCall, requirements: PaymentRequirements, reason?: string): PaidOutcome {
    return {
      type: 'payment_required',
      paymentRequired: buildPaymentRequired({ resourceUrl: call.resourceUrl, description: call.request.product.description, requirements, reason }),
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

    const { product } = request;
    // What the product refuses (e.g. funding an unknown card) is refused before anything is asked for.
    const admission = product.admit ? await product.admit(this.deps.fulfilment, request.body) : 'ok';
    if (admission !== 'ok') return admissionRefusal(admission);

    if (!call.paymentHeader) {
      const capacity = await this.deps.issuer.checkCapacity({ loadCents: request.price.loadCents });
      if (!capacity.ok) return { type: 'provider_capacity', retryAfterSeconds: capacity.retryAfterSeconds };
      return this.challenge(call, requirements);
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

    // …and again now that the payer is known (funding someone else's card), before any money moves.
    const payerAdmission = product.admit ? await product.admit(this.deps.fulfilment, request.body, payer) : 'ok';
    if (payerAdmission !== 'ok') return admissionRefusal(payerAdmission);

    const requestFingerprint = fingerprint(request);
    const seen = await findPaymentByNonce(this.deps.db, payer, nonce.toString());
    if (seen) return this.replay(seen, requestFingerprint, call, requirements);
    if (call.idempotencyKey) {
      const keyed = await findPaymentByIdempotencyKey(this.deps.db, payer, product.kind, call.idempotencyKey);
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
    const recorded = settlingPaymentRow(
      {
        id: paymentId,
        kind: product.kind,
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
        settle_tx_hash: null,
        settle_envelope_xdr: null,
        mandate_id: null,
        holder: null,
      },
      nowMs,
    );
    await this.deps.inFlight.claim(paymentId); // a new id: no one else can hold it
    try {
      return await this.settleAndFulfil(call, recorded, payload, requirements, verified.handle);
    } catch (err) {
      // The product would not reserve what this payment pays for (e.g. a payment request already
      // answered, expired, or paid by another payment): nothing was recorded or sent.
      if (err instanceof ClaimRefusedError) return { type: 'unavailable' };
      if (!(err instanceof DuplicatePaymentError)) throw err;
      // A copy of this payment (or of this idempotency key) was recorded first: answer as its replay.
      const twin =
        (await findPaymentByNonce(this.deps.db, payer, nonce.toString())) ??
        (call.idempotencyKey ? await findPaymentByIdempotencyKey(this.deps.db, payer, product.kind, call.idempotencyKey) : undefined);
      if (!twin) throw err;
      return this.replay(twin, requestFingerprint, call, requirements);
    } finally {
      await this.deps.inFlight.release(paymentId);
    }
  }

  /** The same payment (or idempotency key) again: the first result, never a second charge. */
  private async replay(payment: PaymentRow, requestFingerprint: string, call: PaidCall, requirements: PaymentRequirements): Promise<PaidOutcome> {
    if (payment.request_fingerprint !== requestFingerprint || payment.kind !== call.request.product.kind) return { type: 'idempotency_conflict' };
    switch (payment.status) {
      case 'fulfilled': {
        const { httpStatus, body } = replayBody(payment, call.request.product);
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
        if (!this.deps.inFlight.has(payment.id)) this.deps.resumeInBackground(payment.id);
        return { type: 'in_progress', paymentId: payment.id, retryAfterSeconds: this.retryAfterSeconds() };
    }
  }

  private async settleAndFulfil(
    call: PaidCall,
    recorded: PaymentRow,
    payload: PaymentPayload,
    requirements: PaymentRequirements,
    verified: VerificationHandle | undefined,
  ): Promise<PaidOutcome> {
    const { product } = call.request;
    const claim = product.claim ? (trx: Executor, row: PaymentRow) => product.claim!(trx, row, call.request.body) : undefined;
    const outcome = await this.deps.settlement.settle(recorded, payload, requirements, verified, true, claim);
    // No money moved: a fresh challenge, so the payer can sign a new payment.
    if (outcome.status === 'failed') return this.challenge(call, requirements, 'settlement_failed');
    if (outcome.status === 'pending') return { type: 'in_progress', paymentId: recorded.id, retryAfterSeconds: this.retryAfterSeconds() };
    // Settled: the payment stays `settling` in the database until fulfilment records the settlement
    // and the card in one db transaction (one write instead of two; see UnrecordedSettlement).
    const settlement: UnrecordedSettlement = { txHash: outcome.txHash, ledger: outcome.ledger ?? null };
    const payment: PaymentRow = { ...recorded, status: 'settling', settle_tx_hash: settlement.txHash, settled_ledger: settlement.ledger };
    const done = await fulfilOrRecordFailure(this.deps.fulfilment, payment, settlement);
    if (!done) return { type: 'fulfilment_failed', paymentId: payment.id, status: 'paid_unfulfilled', settlement: this.settlementOf(payment) };
    const body = done.details ? { ...done.storedBody, detailsEnvelope: detailsEnvelope(done.details) } : done.storedBody;
    return { type: 'fulfilled', httpStatus: done.httpStatus, body, settlement: this.settlementOf(payment) };
  }
}
