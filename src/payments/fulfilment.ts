import type { Clock } from '../clock.js';
import type { CardDataCipher, CardDetails } from '../cards/card-data.js';
import type { CardIssuer } from '../cards/issuer.js';
import type { Db } from '../db/open.js';
import type { WriteBatcher } from '../db/write-batch.js';
import type { PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { cardDetailsView } from '../protocol/api.js';
import type { PaidProduct, ProductRegistry } from './products/index.js';
import { transitionPayment } from './repository.js';

/** How long the one-time details envelope is meant to be shown, as ASG documents it. */
export const DETAILS_ENVELOPE_SECONDS = 300;

export class FulfilmentRaceError extends Error {
  override name = 'FulfilmentRaceError';
}

export interface FulfilmentDeps {
  db: Db;
  /** The products payments may be for, by kind. */
  products: ProductRegistry;
  /** Runs the fulfilment's db transaction (group-committed with other writes of the same moment). */
  writer: WriteBatcher;
  clock: Clock;
  issuer: CardIssuer;
  cipher: CardDataCipher;
}

/**
 * A settlement this process saw succeed moments ago and has not written down: the payment is still
 * `settling` in the database (its transaction hash recorded before sending), and fulfilment records
 * the settlement in the same db transaction that links the card. A crash before that commit leaves
 * `settling`, which recovery resolves by asking the ledger, exactly as after a crash mid-settlement.
 */
export interface UnrecordedSettlement {
  txHash: string;
  ledger: number | null;
}

/** From where a payment may be fulfilled: settled (recorded), or settling with a settlement in hand. */
export function fulfilFromStates(settlement: UnrecordedSettlement | undefined): readonly PaymentStatus[] {
  return settlement ? ['verified', 'settling'] : ['settled', 'paid_unfulfilled'];
}

/** The columns that record an unrecorded settlement, to set with the payment's next transition. */
export function settlementColumns(settlement: UnrecordedSettlement | undefined): { settle_tx_hash?: string; settled_ledger?: number | null } {
  return settlement ? { settle_tx_hash: settlement.txHash, settled_ledger: settlement.ledger } : {};
}

export interface FulfilledPayment {
  httpStatus: 200 | 201;
  /** The response body without card secrets (what is stored for replays). */
  storedBody: Record<string, unknown>;
  details?: CardDetails;
}

export function detailsEnvelope(details: CardDetails): Record<string, unknown> {
  return {
    cardNumber: details.cardNumber,
    expiryMonth: details.expiryMonth,
    expiryYear: details.expiryYear,
    cvv: details.cvv,
    billingAddress: cardDetailsView(details).billingAddress,
    oneTimeAccess: true,
    expiresInSeconds: DETAILS_ENVELOPE_SECONDS,
  };
}

/**
 * Fulfils a settled payment through its product (products/) and links it to the payment in ONE db
 * transaction (the product's writes, payment → fulfilled). The product's outside work (the issuer)
 * comes first and is idempotent on the payment id, so retrying after any failure can never create
 * two cards or load twice; the compare-and-set on the payment status means only one fulfilment
 * ever commits. `settlement` is given only by the request that just settled the payment (see
 * UnrecordedSettlement); `payment` must then carry its hash and ledger already.
 */
export async function fulfilPayment(deps: FulfilmentDeps, payment: PaymentRow, settlement?: UnrecordedSettlement): Promise<FulfilledPayment> {
  const product = deps.products.get(payment.kind);
  if (!product) throw new Error(`no paid product of kind ${payment.kind} for payment ${payment.id}`);
  const body = product.body.parse(JSON.parse(payment.request_json));
  const prepared = await product.prepare(deps, payment, body);
  const nowMs = deps.clock.nowMs();
  let storedBody: Record<string, unknown> = {};
  await deps.writer.run(async (trx) => {
    const written = await prepared.write(trx, nowMs);
    storedBody = written.body;
    const linked = await transitionPayment(trx, payment.id, fulfilFromStates(settlement), {
      status: 'fulfilled',
      ...settlementColumns(settlement),
      card_id: written.cardId,
      response_json: JSON.stringify(storedBody),
      last_error: null,
      updated_at: nowMs,
    });
    if (!linked) throw new FulfilmentRaceError(`payment ${payment.id} was fulfilled elsewhere`);
  });
  return { httpStatus: product.successStatus, storedBody, ...(prepared.details ? { details: prepared.details } : {}) };
}

/**
 * The original response again, for a replayed payment, without the one-time details envelope.
 * A payment's signed auth entry is public on the ledger once settled, so a resent payload proves
 * nothing about who sends it; card data is only ever re-read through the wallet-signed details
 * endpoint (nonce, rate limit, audit).
 */
export function replayBody(payment: PaymentRow, product: PaidProduct): { httpStatus: 200 | 201; body: Record<string, unknown> } {
  const stored = JSON.parse(payment.response_json ?? '{}') as Record<string, unknown>;
  return { httpStatus: product.successStatus, body: stored };
}

/**
 * settled|paid_unfulfilled → fulfilled, or → paid_unfulfilled (retried later, refunded at the end).
 * With `settlement` (just settled by this request, see UnrecordedSettlement): settling → the same.
 * Returns undefined when fulfilment failed (recorded, and logged).
 */
export async function fulfilOrRecordFailure(
  deps: FulfilmentDeps & { logger: Logger },
  payment: PaymentRow,
  settlement?: UnrecordedSettlement,
): Promise<FulfilledPayment | undefined> {
  const paymentId = payment.id;
  try {
    const done = await fulfilPayment(deps, payment, settlement);
    deps.logger.info('payment fulfilled', { paymentId, kind: payment.kind });
    return done;
  } catch (err) {
    const attempts = payment.fulfil_attempts + 1;
    await transitionPayment(deps.db, paymentId, fulfilFromStates(settlement), {
      status: 'paid_unfulfilled',
      ...settlementColumns(settlement),
      fulfil_attempts: attempts,
      last_error: err instanceof Error ? err.message.slice(0, 200) : 'fulfilment failed',
      updated_at: deps.clock.nowMs(),
    });
    deps.logger.error('fulfilment failed after settlement; will retry or refund', { paymentId, attempts, err });
    return undefined;
  }
}
