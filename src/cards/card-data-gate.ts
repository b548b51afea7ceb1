import { recordEvent } from '../webhooks/events.js';
import type { Kysely } from 'kysely';
import type { CardDataPath, CardRow, Database, DetailsAccessOutcome } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { CardDataError, type CardDataCipher, type CardDetails } from './card-data.js';
import {
  countDetailsNoncesSince,
  countItemizedRefusalsByWallet,
  countItemizedRefusalsOnCard,
  countUnlistedRefusal,
  detailsNonceTimeAt,
  recordDetailsAccess,
  spendDetailsNonce,
} from './details-repository.js';
import { findCard } from './repository.js';

export interface DetailsLimits {
  /**
   * Card data releases each party of a card (its holder, and its owner when that is another
   * wallet) may make per rolling window, over every path together: details nonces, session
   * redemptions and secrets (ASG: 5 per hour).
   */
  noncesPerWindow: number;
  windowMs: number;
  /** How long spent nonces (and the slots of the other paths) are remembered; at least windowMs. */
  nonceRetentionMs: number;
}

/**
 * How many attempts by wallets that are not a party of the card the audit itemizes (a row with
 * wallet, IP and user agent) per rolling hour: per wallet across all cards, and per card across all
 * wallets (wallets cost nothing to make, so only the per-card cap bounds a card's audit). Attempts
 * beyond either cap get the same 404 and are counted per card and hour, not itemized.
 */
export const ITEMIZED_REFUSALS_PER_WALLET_PER_HOUR = 10;
export const ITEMIZED_REFUSALS_PER_CARD_PER_HOUR = 30;
const REFUSAL_WINDOW_MS = 3_600_000;

/** One attempt to take card data out by one path. */
export interface CardDataAttempt {
  cardId: string;
  /** The wallet on whose behalf: the signer (details, secrets) or the session's creator (redeem). */
  wallet: string;
  path: CardDataPath;
  ip: string;
  userAgent: string;
  nowMs: number;
}

/** A refusal of a path's own check, and the outcome the audit records for it. */
export interface PathRefusal {
  outcome: DetailsAccessOutcome;
  error: Error;
}

export interface PathSteps {
  /**
   * The path's own checks (a nonce, a session), run after the card's guards and before the limit;
   * a refusal is audited and ends the attempt with nothing spent.
   */
  check?: (card: CardRow) => Promise<PathRefusal | undefined>;
  /**
   * The slot this release takes in the hourly limit: a sha256 hex unique on the card (the hashed
   * X-AGENT-NONCE, or one derived from the session and its redemption number). A details nonce
   * doubles as replay protection; the other paths' slots are never presented twice.
   */
  slotHash: string;
  /** The path's own writes for a granted release (a redemption, a used session), in the same transaction. */
  onGranted?: (card: CardRow) => Promise<void>;
}

/** `measured`: the audited outcome, or not_found (no such card, or a stranger's attempt), for the metrics. */
export type GateOutcome = ({ card: CardRow; details: CardDetails } | { error: Error }) & { measured: DetailsAccessOutcome | 'not_found' };

export const cardNotFound = () => new DomainError('card_not_found', 'card not found');
export const cardClosed = () => new DomainError('card_closed', 'this card is closed; nothing about it can change and its details are no longer available');

export function isParty(card: CardRow, wallet: string): boolean {
  return card.agent_address === wallet || card.owner_address === wallet;
}

/**
 * The guards every card data path passes (DESIGN §7, §9), in this order, inside the caller's
 * IMMEDIATE transaction: the card exists and the wallet is a party of it (else not found, nothing
 * spent, and a bounded audit of the stranger) → the card is not closed → details not revoked → the
 * card is active (frozen, or any other status, refuses) → the path's own checks → under the wallet's hourly limit on
 * the card, counted over every path → decrypt → take the slot and the path's writes → audit
 * `granted`. Every attempt on an existing card leaves an audit row with the path it took.
 */
export class CardDataGate {
  constructor(private readonly deps: { cipher: CardDataCipher; limits: DetailsLimits }) {
    const { limits } = deps;
    if (!Number.isInteger(limits.noncesPerWindow) || limits.noncesPerWindow < 1) throw new RangeError('noncesPerWindow must be a positive integer');
    if (!(limits.windowMs > 0) || limits.nonceRetentionMs < limits.windowMs) throw new RangeError('nonce retention must cover the window');
  }

  get limits(): DetailsLimits {
    return this.deps.limits;
  }

  async open(trx: Kysely<Database>, attempt: CardDataAttempt, steps: PathSteps): Promise<GateOutcome> {
    let measured: DetailsAccessOutcome | 'not_found' = 'not_found';
    const result = await this.guard(trx, attempt, steps, (outcome) => {
      measured = outcome === 'not_authorized' ? 'not_found' : outcome;
    });
    return { ...result, measured };
  }

  private async guard(
    trx: Kysely<Database>,
    attempt: CardDataAttempt,
    steps: PathSteps,
    measure: (outcome: DetailsAccessOutcome) => void,
  ): Promise<{ card: CardRow; details: CardDetails } | { error: Error }> {
    const { cipher, limits } = this.deps;
    const { nowMs, wallet } = attempt;
    const card = await findCard(trx, attempt.cardId);
    if (!card) return { error: cardNotFound() };
    const audit = (outcome: DetailsAccessOutcome) => {
      measure(outcome);
      return recordDetailsAccess(trx, { cardId: card.id, wallet, ip: attempt.ip, userAgent: attempt.userAgent, outcome, path: attempt.path, nowMs });
    };

    if (!isParty(card, wallet)) {
      // Any wallet can sign for itself: the audit of a card it has the id of must not grow with
      // its requests. The answer is the same 404 whether the attempt is itemized or counted.
      const sinceMs = nowMs - REFUSAL_WINDOW_MS;
      const itemize =
        (await countItemizedRefusalsByWallet(trx, wallet, sinceMs)) < ITEMIZED_REFUSALS_PER_WALLET_PER_HOUR &&
        (await countItemizedRefusalsOnCard(trx, card.id, sinceMs)) < ITEMIZED_REFUSALS_PER_CARD_PER_HOUR;
      if (itemize) await audit('not_authorized');
      else await countUnlistedRefusal(trx, card.id, nowMs);
      return { error: cardNotFound() };
    }
    if (card.status === 'closed') {
      // A closed card's data is gone for good (DELETE /cards/:cardId): its own answer, 409 CARD_CLOSED.
      await audit('card_inactive');
      return { error: cardClosed() };
    }
    if (card.details_revoked) {
      await audit('revoked');
      return { error: new DomainError('details_revoked', "the card's owner has revoked access to its details") };
    }
    if (card.status !== 'active') {
      await audit('card_inactive');
      return { error: new DomainError('card_not_active', `the card is ${card.status}: card data is released only for active cards`) };
    }
    const refusal = await steps.check?.(card);
    if (refusal) {
      await audit(refusal.outcome);
      return { error: refusal.error };
    }
    // Each party has its own allowance (counted over the slots it took itself), so the holder can
    // never use up the owner's reads, nor the owner the holder's. When the owner is the holder (the
    // default) that is one allowance for the card, as in ASG.
    const windowStartMs = nowMs - limits.windowMs;
    const spentInWindow = await countDetailsNoncesSince(trx, card.id, wallet, windowStartMs);
    if (spentInWindow >= limits.noncesPerWindow) {
      // A slot frees up when enough of the oldest spends age out to go below the limit.
      const oldestBlocking = await detailsNonceTimeAt(trx, card.id, wallet, windowStartMs, spentInWindow - limits.noncesPerWindow);
      const freedAtMs = (oldestBlocking ?? nowMs) + limits.windowMs;
      const retryAfterSeconds = Math.max(1, Math.ceil((freedAtMs - nowMs) / 1000));
      await audit('rate_limited');
      return {
        error: new DomainError(
          'details_rate_limited',
          `each wallet of a card may take its data at most ${limits.noncesPerWindow} times per ${limits.windowMs / 1000} s (details, sessions and secrets together)`,
          { retryAfterSeconds },
        ),
      };
    }
    let details: CardDetails;
    try {
      details = cipher.decrypt(card.id, card.details_ciphertext);
    } catch (err) {
      await audit('error');
      return { error: err instanceof CardDataError ? err : new CardDataError('card data could not be decrypted') };
    }
    await spendDetailsNonce(trx, { cardId: card.id, nonceHash: steps.slotHash, wallet, nowMs });
    await steps.onGranted?.(card);
    await audit('granted');
    // Owners hear of every release of their card's data, from the transaction that released it.
    await recordEvent(trx, { type: 'card.details_accessed', cardId: card.id, data: { cardId: card.id, wallet, path: attempt.path }, nowMs });
    return { card, details };
  }
}
