import { recordEvent } from '../../webhooks/events.js';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import { immediateTransaction } from '../../db/transaction.js';
import type { WriteBatcher } from '../../db/write-batch.js';
import type { AuthorizationSource, CardAuthorizationRow, CardRow, LockedBy } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import type { CardControlsPatch, Merchant } from '../../protocol/spending.js';
import { cardBalanceCents, findCard, setCardStatus, type Executor } from '../repository.js';
import { looseningFields, type Controls } from './controls.js';
import { decide, windowStartMs, windowedFrequencies, type CardSpendState, type Decision } from './decision.js';
import { findIndexedCardByNumber, findIndexedCardByProviderRef, type CardNetworkIndex } from './network-index.js';
import {
  addSpendEntry,
  findAuthorization,
  findAuthorizationByIssuerRef,
  insertAuthorization,
  cardQueue,
  lockCard,
  pendingDue,
  readControls,
  spentSince,
  updateAuthorization,
  writeControls,
} from './repository.js';

/** The card data a merchant presents to the sandbox network. */
export interface PresentedCard {
  cardNumber: string;
  expiryMonth: number;
  expiryYear: number;
  cvv: string;
}

export type CardLookup = { kind: 'sandbox'; card: PresentedCard } | { kind: 'issuer'; cardReference: string; issuerRef: string };

export interface AuthorizeRequest {
  lookup: CardLookup;
  amountCents: number;
  currency: string;
  merchant: Merchant;
}

export interface AuthorizeResult {
  authorization: CardAuthorizationRow;
  /** False when the card data matched no card (card_invalid): the caller counts it as a failed attempt. */
  cardMatched: boolean;
}

export interface SpendingDeps {
  db: Db;
  clock: Clock;
  index: CardNetworkIndex;
  /** Runs the check-and-hold transactions (group commit; one write at a time, see WriteBatcher). */
  writer: WriteBatcher;
  /** How long an uncaptured hold lasts before it is released. */
  holdMs: number;
}

/** How many due holds one sweep pass releases (the next pass takes the rest). */
export const SWEEP_BATCH = 500;

const notFound = () => new DomainError('authorization_not_found', 'authorization not found');
const cardNotFound = () => new DomainError('card_not_found', 'card not found');

/** A refusal decided inside a write that must still commit (a lazily expired hold): thrown after. */
type Outcome<T> = { ok: T } | { error: DomainError };

/**
 * Cards that spend: authorizations (the sandbox network and a real issuer, one decision function),
 * their captures, reversals, refunds and expiry, and the spend controls. Every check-then-write runs
 * in one database transaction that first locks the card (lockCard), so concurrent authorizations of
 * one card are decided one after the other on the balance the previous one left.
 */
export class SpendingService {
  constructor(private readonly deps: SpendingDeps) {
    if (!Number.isSafeInteger(deps.holdMs) || deps.holdMs <= 0) throw new RangeError('holdMs must be a positive integer');
  }

  /** Finds the card and decides, holding the amount when approved; declines are recorded too. */
  async authorize(req: AuthorizeRequest): Promise<AuthorizeResult> {
    const { db, index } = this.deps;
    const { lookup } = req;
    if (lookup.kind === 'issuer') {
      const previous = await findAuthorizationByIssuerRef(db, lookup.issuerRef);
      if (previous) return { authorization: previous, cardMatched: previous.card_id !== null };
    }
    // Index rows never change once written, so the lookup needs no lock.
    let cardId: string | undefined;
    let cardExpiry: CardSpendState['cardExpiry'];
    if (lookup.kind === 'sandbox') {
      const row = await findIndexedCardByNumber(db, index.numberHmac(lookup.card.cardNumber));
      if (row && index.matches(row.verification_hmac, lookup.card)) {
        cardId = row.card_id;
        cardExpiry = { month: lookup.card.expiryMonth, year: lookup.card.expiryYear };
      }
    } else {
      cardId = (await findIndexedCardByProviderRef(db, lookup.cardReference))?.card_id;
    }
    const issuerRef = lookup.kind === 'issuer' ? lookup.issuerRef : null;
    const source: AuthorizationSource = lookup.kind;

    const authorization = await this.deps.writer.run(async (trx) => {
      if (issuerRef !== null) {
        const previous = await findAuthorizationByIssuerRef(trx, issuerRef);
        if (previous) return previous;
      }
      const nowMs = this.deps.clock.nowMs();
      const card = cardId === undefined ? undefined : await lockCard(trx, cardId);
      if (!card) {
        const row = this.newAuthorization({ cardId: null, source, issuerRef, req, nowMs, decision: { approved: false, reason: 'card_invalid' } });
        await insertAuthorization(trx, row);
        return row;
      }
      await this.expireDueOnCard(trx, card.id, nowMs);
      const state = await this.spendState(trx, card, nowMs, cardExpiry);
      const decision = decide(state, { amountCents: req.amountCents, currency: req.currency, mcc: req.merchant.mcc, merchantName: req.merchant.name }, nowMs);
      const row = this.newAuthorization({ cardId: card.id, source, issuerRef, req, nowMs, decision });
      await insertAuthorization(trx, row);
      await addSpendEntry(trx, {
        cardId: card.id,
        authorizationId: row.id,
        kind: decision.approved ? 'authorization' : 'decline',
        amountCents: req.amountCents,
        availableDeltaCents: decision.approved ? -req.amountCents : 0,
        heldDeltaCents: decision.approved ? req.amountCents : 0,
        nowMs,
      });
      await recordEvent(trx, {
        type: decision.approved ? 'authorization.approved' : 'authorization.declined',
        cardId: card.id,
        data: {
          cardId: card.id,
          authorizationId: row.id,
          amountCents: req.amountCents,
          currency: req.currency,
          merchant: { name: req.merchant.name, mcc: req.merchant.mcc },
          ...(decision.approved ? {} : { declineReason: row.decline_reason }),
        },
        nowMs,
      });
      return row;
    }, cardId === undefined ? {} : { queueOn: cardQueue(cardId) });
    return { authorization, cardMatched: authorization.card_id !== null };
  }

  /** Captures a pending hold, all of it or less (the rest is released); one capture per authorization. */
  async capture(authorizationId: string, amountCents?: number): Promise<CardAuthorizationRow> {
    return this.onPending(authorizationId, async (trx, auth, nowMs) => {
      const captured = amountCents ?? auth.held_cents;
      if (captured > auth.held_cents) {
        throw new DomainError('amount_too_large', `amount: a capture may take at most the held ${auth.held_cents} cents`, { field: 'amount', maxCents: auth.held_cents });
      }
      await updateAuthorization(trx, auth.id, { status: 'captured', held_cents: 0, captured_cents: captured }, nowMs);
      await addSpendEntry(trx, {
        cardId: auth.card_id!,
        authorizationId: auth.id,
        kind: 'capture',
        amountCents: captured,
        availableDeltaCents: auth.held_cents - captured,
        heldDeltaCents: -auth.held_cents,
        nowMs,
      });
    });
  }

  /** Releases a pending hold in full. */
  async reverse(authorizationId: string): Promise<CardAuthorizationRow> {
    return this.onPending(authorizationId, async (trx, auth, nowMs) => {
      await this.release(trx, auth, 'reversed', nowMs);
    });
  }

  /** Credits back part or all of what was captured (several refunds may add up to the captured amount). */
  async refund(authorizationId: string, amountCents: number): Promise<CardAuthorizationRow> {
    return this.onAuthorization(authorizationId, async (trx, auth, nowMs) => {
      if (auth.status !== 'captured') return { error: stateError(auth, 'only a captured authorization can be refunded') };
      const refundable = auth.captured_cents - auth.refunded_cents;
      if (amountCents > refundable) {
        throw new DomainError('amount_too_large', `amount: at most the ${refundable} cents captured and not yet refunded`, { field: 'amount', maxCents: refundable });
      }
      await updateAuthorization(trx, auth.id, { refunded_cents: auth.refunded_cents + amountCents }, nowMs);
      await addSpendEntry(trx, { cardId: auth.card_id!, authorizationId: auth.id, kind: 'refund', amountCents, availableDeltaCents: amountCents, heldDeltaCents: 0, nowMs });
      return { ok: undefined };
    });
  }

  async getAuthorization(authorizationId: string): Promise<CardAuthorizationRow> {
    const auth = await findAuthorization(this.deps.db, authorizationId);
    if (!auth) throw notFound();
    return auth;
  }

  /** The sweep: releases holds past their expiry, a batch at a time. Returns how many it released. */
  async expireDue(): Promise<number> {
    let released = 0;
    for (;;) {
      const due = await pendingDue(this.deps.db, this.deps.clock.nowMs(), { limit: SWEEP_BATCH });
      for (const auth of due) {
        released += await this.deps.writer.run(async (trx) => {
          const nowMs = this.deps.clock.nowMs();
          await lockCard(trx, auth.card_id!);
          const current = await findAuthorization(trx, auth.id);
          if (current?.status !== 'pending' || current.expires_at > nowMs) return 0;
          await this.release(trx, current, 'expired', nowMs);
          return 1;
        }, { queueOn: cardQueue(auth.card_id!) });
      }
      if (due.length < SWEEP_BATCH) return released;
    }
  }

  /** The controls of a card the wallet is a party of (404 otherwise). */
  async controls(wallet: string, cardId: string): Promise<Controls> {
    const card = await findCard(this.deps.db, cardId);
    if (!card || !isParty(card, wallet)) throw cardNotFound();
    return readControls(this.deps.db, card.id);
  }

  /**
   * PATCH /cards/:cardId (and ASG's freeze/unfreeze). DESIGN §8: the holder may only tighten; a
   * change that loosens anything (see looseningFields) needs the owner, and is refused whole
   * otherwise (403 owner_only naming the fields). A stranger gets 404. Status and controls change in
   * one transaction.
   */
  async updateControls(wallet: string, cardId: string, patch: ParsedControlsPatch): Promise<{ card: CardRow; controls: Controls }> {
    return immediateTransaction(this.deps.db, async (trx) => {
      const card = await lockCard(trx, cardId);
      if (!card || !isParty(card, wallet)) throw cardNotFound();
      const isOwner = card.owner_address === wallet;
      const role: LockedBy = isOwner ? 'owner' : 'holder';
      const nowMs = this.deps.clock.nowMs();
      const before = await readControls(trx, card.id);
      const locked = card.status !== 'active';
      if ((card.status as string) === 'closed') throw new DomainError('card_closed', 'the card is closed');

      let lockedBy = locked ? (before.lockedBy ?? 'holder') : null;
      let status = card.status;
      const unlocking = patch.status === 'active' && locked;
      if (patch.status === 'locked') {
        status = 'frozen';
        // The owner locking a card the holder locked makes it the owner's lock.
        if (!locked || role === 'owner') lockedBy = role;
      } else if (unlocking) {
        status = 'active';
        lockedBy = null;
      }
      const after: Controls = {
        limits: patch.limits ?? before.limits,
        allowedCategories: patch.allowedCategories ?? before.allowedCategories,
        blockedCategories: patch.blockedCategories ?? before.blockedCategories,
        allowedMerchants: patch.allowedMerchants ?? before.allowedMerchants,
        expiresAtMs: patch.expiresAtMs === undefined ? before.expiresAtMs : patch.expiresAtMs,
        lockedBy,
      };
      const loosening = looseningFields({ ...before, lockedBy: locked ? (before.lockedBy ?? 'holder') : null }, after, unlocking);
      if (loosening.length > 0 && !isOwner) {
        throw new DomainError('role_required', `only the card's owner may loosen its controls (${loosening.join(', ')}); its holder may only tighten them`, {
          requiredRole: 'owner',
          fields: loosening,
        });
      }
      await writeControls(trx, card.id, after, nowMs);
      if (status !== card.status) {
        await setCardStatus(trx, card.id, status, nowMs);
        await recordEvent(trx, { type: status === 'frozen' ? 'card.frozen' : 'card.unfrozen', cardId: card.id, data: { cardId: card.id, status, by: wallet, role }, nowMs });
      }
      return { card: { ...card, status, updated_at: status !== card.status ? nowMs : card.updated_at }, controls: after };
    }, { queueOn: cardQueue(cardId) });
  }

  private newAuthorization(args: {
    cardId: string | null;
    source: AuthorizationSource;
    issuerRef: string | null;
    req: AuthorizeRequest;
    nowMs: number;
    decision: Decision;
  }): CardAuthorizationRow {
    const { req, nowMs, decision } = args;
    return {
      id: randomUUID(),
      card_id: args.cardId,
      source: args.source,
      issuer_ref: args.issuerRef,
      status: decision.approved ? 'pending' : 'declined',
      decline_reason: decision.approved ? null : decision.reason,
      decline_detail: decision.approved ? null : (decision.detail ?? null),
      amount_cents: req.amountCents,
      currency: req.currency,
      held_cents: decision.approved ? req.amountCents : 0,
      captured_cents: 0,
      refunded_cents: 0,
      merchant_name: req.merchant.name,
      merchant_mcc: req.merchant.mcc,
      merchant_country: req.merchant.country,
      merchant_url: req.merchant.url ?? null,
      expires_at: nowMs + this.deps.holdMs,
      created_at: nowMs,
      updated_at: nowMs,
    };
  }

  /** What decide() needs, read inside the transaction that holds the card's lock. */
  private async spendState(trx: Executor, card: CardRow, nowMs: number, cardExpiry: CardSpendState['cardExpiry']): Promise<CardSpendState> {
    const controls = await readControls(trx, card.id);
    // Due holds were released just before (expireDueOnCard), so every hold left counts.
    const availableCents = await cardBalanceCents(trx, card.id, nowMs);
    const spentCents: CardSpendState['spentCents'] = {};
    for (const frequency of windowedFrequencies(controls.limits)) spentCents[frequency] = await spentSince(trx, card.id, windowStartMs(frequency, nowMs));
    return { status: card.status, controls, availableCents, spentCents, ...(cardExpiry ? { cardExpiry } : {}) };
  }

  private async expireDueOnCard(trx: Executor, cardId: string, nowMs: number): Promise<void> {
    for (const auth of await pendingDue(trx, nowMs, { cardId, limit: SWEEP_BATCH })) await this.release(trx, auth, 'expired', nowMs);
  }

  private release(trx: Executor, auth: CardAuthorizationRow, status: 'reversed' | 'expired', nowMs: number): Promise<void> {
    return releaseHold(trx, auth, status, nowMs);
  }


  private onPending(authorizationId: string, act: (trx: Executor, auth: CardAuthorizationRow, nowMs: number) => Promise<void>): Promise<CardAuthorizationRow> {
    return this.onAuthorization(authorizationId, async (trx, auth, nowMs) => {
      if (auth.status === 'pending' && auth.expires_at <= nowMs) {
        // Expired while no sweep ran: released now (and that commits), then refused.
        await this.release(trx, auth, 'expired', nowMs);
        return { error: stateError({ ...auth, status: 'expired' }, 'the hold has expired') };
      }
      if (auth.status !== 'pending') return { error: stateError(auth, 'the authorization is not pending') };
      await act(trx, auth, nowMs);
      return { ok: undefined };
    });
  }

  /** Runs `act` on the authorization with its card locked, then answers the authorization as it now is. */
  private async onAuthorization(
    authorizationId: string,
    act: (trx: Executor, auth: CardAuthorizationRow, nowMs: number) => Promise<Outcome<void>>,
  ): Promise<CardAuthorizationRow> {
    const found = await findAuthorization(this.deps.db, authorizationId);
    if (!found || found.card_id === null) throw notFound();
    const cardId = found.card_id;
    const outcome = await this.deps.writer.run(async (trx): Promise<Outcome<CardAuthorizationRow>> => {
      await lockCard(trx, cardId);
      const auth = (await findAuthorization(trx, authorizationId))!;
      const nowMs = this.deps.clock.nowMs();
      const done = await act(trx, auth, nowMs);
      if ('error' in done) return done;
      return { ok: (await findAuthorization(trx, authorizationId))! };
    }, { queueOn: cardQueue(cardId) });
    if ('error' in outcome) throw outcome.error;
    return outcome.ok;
  }
}

/** The PATCH body once parsed: expiresAt as unix ms (null removes it). */
export type ParsedControlsPatch = Omit<CardControlsPatch, 'expiresAt'> & { expiresAtMs?: number | null };

function isParty(card: CardRow, wallet: string): boolean {
  return card.agent_address === wallet || card.owner_address === wallet;
}

function stateError(auth: Pick<CardAuthorizationRow, 'status'>, message: string): DomainError {
  return new DomainError('authorization_state', `${message} (it is ${auth.status})`, { state: auth.status });
}

/** Releases one pending hold: its amount is available again (a `reversal` or an `expiry` entry). */
async function releaseHold(trx: Executor, auth: CardAuthorizationRow, status: 'reversed' | 'expired', nowMs: number): Promise<void> {
  await updateAuthorization(trx, auth.id, { status, held_cents: 0 }, nowMs);
  await addSpendEntry(trx, {
    cardId: auth.card_id!,
    authorizationId: auth.id,
    kind: status === 'reversed' ? 'reversal' : 'expiry',
    amountCents: auth.held_cents,
    availableDeltaCents: auth.held_cents,
    heldDeltaCents: -auth.held_cents,
    nowMs,
  });
}

/**
 * Releases every pending hold on a card, inside the caller's transaction: closing a card
 * (src/cards/closing.ts) reverses them before its available balance is refunded.
 */
export async function releasePendingHolds(trx: Executor, cardId: string, nowMs: number): Promise<void> {
  const pending = await trx.selectFrom('card_authorizations').selectAll().where('card_id', '=', cardId).where('status', '=', 'pending').execute();
  for (const auth of pending) await releaseHold(trx, auth, auth.expires_at <= nowMs ? 'expired' : 'reversed', nowMs);
}
