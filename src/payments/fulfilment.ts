import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CardDataCipher, CardDetails } from '../cards/card-data.js';
import type { CardIssuer } from '../cards/issuer.js';
import { addLedgerEntry, cardBalanceCents, findCard, insertCard } from '../cards/repository.js';
import type { Db } from '../db/open.js';
import type { WriteBatcher } from '../db/write-batch.js';
import type { CardRow, PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { centsToDollarNumber } from '../money/units.js';
import { transitionPayment } from './repository.js';
import type { CreateCardBody, FundCardBody } from './types.js';

/** How long the one-time details envelope is meant to be shown, as ASG documents it. */
export const DETAILS_ENVELOPE_SECONDS = 300;

export class FulfilmentRaceError extends Error {
  override name = 'FulfilmentRaceError';
}

export interface FulfilmentDeps {
  db: Db;
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

export function paymentView(payment: PaymentRow): Record<string, unknown> {
  return {
    amountCharged: centsToDollarNumber(payment.total_cents),
    txHash: payment.settle_tx_hash,
    network: payment.network,
    paymentId: payment.id,
  };
}

export function detailsEnvelope(details: CardDetails): Record<string, unknown> {
  return {
    cardNumber: details.cardNumber,
    expiryMonth: details.expiryMonth,
    expiryYear: details.expiryYear,
    cvv: details.cvv,
    billingAddress: details.billingAddress,
    oneTimeAccess: true,
    expiresInSeconds: DETAILS_ENVELOPE_SECONDS,
  };
}

function cardView(card: CardRow, balanceCents: number): Record<string, unknown> {
  return {
    cardId: card.id,
    nameOnCard: card.name_on_card,
    balance: centsToDollarNumber(balanceCents),
    status: card.status,
    createdAt: new Date(card.created_at).toISOString(),
  };
}

/**
 * Issues or funds the card for a settled payment and links it to the payment in ONE db
 * transaction (card row, ledger entry, payment → fulfilled). The provider call comes first and is
 * idempotent on the payment id, so retrying after any failure can never create two cards or load
 * twice; the compare-and-set on the payment status means only one fulfilment ever commits.
 * `settlement` is given only by the request that just settled the payment (see UnrecordedSettlement);
 * `payment` must then carry its hash and ledger already.
 */
export async function fulfilPayment(deps: FulfilmentDeps, payment: PaymentRow, settlement?: UnrecordedSettlement): Promise<FulfilledPayment> {
  const nowMs = deps.clock.nowMs();
  const fromStates = fulfilFromStates(settlement);
  const recorded = settlementColumns(settlement);
  if (payment.kind === 'create') {
    const body = JSON.parse(payment.request_json) as CreateCardBody;
    const issued = await deps.issuer.issueCard({
      requestKey: payment.id,
      nameOnCard: body.nameOnCard,
      email: body.email,
      loadCents: payment.load_cents,
    });
    const cardId = randomUUID();
    const card: CardRow = {
      id: cardId,
      agent_address: payment.payer,
      owner_address: body.ownerAddress ?? payment.payer,
      name_on_card: body.nameOnCard,
      email: body.email,
      status: 'active',
      details_revoked: 0,
      last_four: issued.details.cardNumber.slice(-4),
      details_ciphertext: deps.cipher.encrypt(cardId, issued.details),
      provider_ref: issued.providerRef,
      created_at: nowMs,
      updated_at: nowMs,
    };
    const storedBody = { success: true, card: cardView(card, payment.load_cents), payment: paymentView(payment) };
    await deps.writer.run(async (trx) => {
      await insertCard(trx, card);
      if (payment.load_cents > 0) {
        await addLedgerEntry(trx, {
          cardId,
          kind: 'initial_load',
          amountCents: payment.load_cents,
          paymentId: payment.id,
          description: 'initial load',
          nowMs,
        });
      }
      const linked = await transitionPayment(trx, payment.id, fromStates, {
        status: 'fulfilled',
        ...recorded,
        card_id: cardId,
        response_json: JSON.stringify(storedBody),
        last_error: null,
        updated_at: nowMs,
      });
      if (!linked) throw new FulfilmentRaceError(`payment ${payment.id} was fulfilled elsewhere`);
    });
    return { httpStatus: 201, storedBody, details: issued.details };
  }

  const body = JSON.parse(payment.request_json) as FundCardBody;
  const card = await findCard(deps.db, body.cardId);
  if (!card) throw new Error(`card ${body.cardId} for payment ${payment.id} is missing`);
  await deps.issuer.fundCard({ requestKey: payment.id, providerRef: card.provider_ref, amountCents: payment.load_cents });
  let storedBody: Record<string, unknown> = {};
  await deps.writer.run(async (trx) => {
    await addLedgerEntry(trx, { cardId: card.id, kind: 'fund', amountCents: payment.load_cents, paymentId: payment.id, description: 'top-up', nowMs });
    const newBalance = await cardBalanceCents(trx, card.id);
    storedBody = {
      success: true,
      cardId: card.id,
      fundedAmount: centsToDollarNumber(payment.load_cents),
      newBalance: centsToDollarNumber(newBalance),
      payment: paymentView(payment),
    };
    const linked = await transitionPayment(trx, payment.id, fromStates, {
      status: 'fulfilled',
      ...recorded,
      card_id: card.id,
      response_json: JSON.stringify(storedBody),
      last_error: null,
      updated_at: nowMs,
    });
    if (!linked) throw new FulfilmentRaceError(`payment ${payment.id} was fulfilled elsewhere`);
  });
  return { httpStatus: 200, storedBody };
}

/**
 * The original response again, for a replayed payment, without the one-time details envelope.
 * A payment's signed auth entry is public on the ledger once settled, so a resent payload proves
 * nothing about who sends it; card data is only ever re-read through the wallet-signed details
 * endpoint (nonce, rate limit, audit).
 */
export async function replayBody(payment: PaymentRow): Promise<{ httpStatus: 200 | 201; body: Record<string, unknown> }> {
  const stored = JSON.parse(payment.response_json ?? '{}') as Record<string, unknown>;
  return { httpStatus: payment.kind === 'fund' ? 200 : 201, body: stored };
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
