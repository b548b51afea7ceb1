import type { Metrics } from '../metrics/index.js';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { CardAuthorizationRow, CardClosureRow, CardDetailsAccessRow, CardRow, CardStatus, DetailsAccessOutcome } from '../db/schema.js';
import { findClosure } from './closure-repository.js';
import { DomainError } from '../errors.js';
import { immediateTransaction } from '../db/transaction.js';
import { CardDataError, type CardDataCipher, type CardDetails } from './card-data.js';
import {
  countDetailsNoncesSince,
  countItemizedRefusalsByWallet,
  countItemizedRefusalsOnCard,
  countUnlistedRefusal,
  detailsNonceTimeAt,
  isDetailsNonceSpent,
  listDetailsAccess,
  purgeDetailsNoncesBefore,
  recordDetailsAccess,
  spendDetailsNonce,
  unlistedRefusals,
  type UnlistedRefusals,
} from './details-repository.js';
import {
  cardFunds,
  findCard,
  type CardListRow,
  listCardSummariesAssignedTo,
  listCardSummariesForWallet,
  countLedgerEntries,
  setDetailsRevoked,
} from './repository.js';
import type { Controls } from './spend/controls.js';
import { authorizationsByIds, countSpendEntries, listMovements, readControls, type MovementCursor, type MovementRow } from './spend/repository.js';

export interface DetailsLimits {
  /**
   * Distinct X-AGENT-NONCE values each party of a card (its holder, and its owner when that is
   * another wallet) may spend on it per rolling window (ASG: 5 per hour).
   */
  noncesPerWindow: number;
  windowMs: number;
  /** How long spent nonces are remembered; at least windowMs. */
  nonceRetentionMs: number;
}

/**
 * How many details attempts by wallets that are not a party of the card the audit itemizes (a row
 * with wallet, IP and user agent) per rolling hour: per wallet across all cards, and per card across
 * all wallets (wallets cost nothing to make, so only the per-card cap bounds a card's audit).
 * Attempts beyond either cap get the same 404 and are counted per card and hour, not itemized.
 */
export const ITEMIZED_REFUSALS_PER_WALLET_PER_HOUR = 10;
export const ITEMIZED_REFUSALS_PER_CARD_PER_HOUR = 30;
const REFUSAL_WINDOW_MS = 3_600_000;

export const DETAILS_PURGE_INTERVAL_MS = 60_000;
/** X-AGENT-NONCE must be a UUID version 4 (RFC 9562 variant). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export interface CardSummary {
  cardId: string;
  nameOnCard: string;
  lastFour: string;
  /** Available: loads − holds − captures + refunds + reversals. */
  balanceCents: number;
  /** Held by pending authorizations. */
  heldCents: number;
  status: CardStatus;
  createdAtMs: number;
}

/** A card another wallet (its holder, `agentAddress`) bought and named the caller owner of. */
export interface AssignedCardSummary extends CardSummary {
  agentAddress: string;
}

export interface CardView extends CardSummary {
  agentAddress: string;
  ownerAddress: string;
  detailsRevoked: boolean;
  updatedAtMs: number;
  /** Only on a closed card: when, by whom, and the refund of its balance. */
  closure?: CardClosureRow | undefined;
  controls: Controls;
}

export interface DetailsAccessPage extends Page<CardDetailsAccessRow> {
  /** Refusals beyond the itemized ones (see ITEMIZED_REFUSALS_PER_*), summed over what retention kept. */
  unlisted: UnlistedRefusals;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next (older) page; null when this is the last page. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  cursor?: number;
}

/** A page asked for by number (ASG), 1-based; the routes refuse it together with a cursor. */
export interface NumberedPageRequest extends PageRequest {
  page?: number;
}

export interface CountedPage<T> extends Page<T> {
  /** All entries of the card, on every page. */
  total: number;
}

export interface DetailsRequest {
  wallet: string;
  cardId: string;
  /** The raw X-AGENT-NONCE header, if any. */
  nonce: string | undefined;
  ip: string;
  userAgent: string;
}

type DetailsOutcome = { details: CardDetails } | { error: Error };

function isParty(card: CardRow, wallet: string): boolean {
  return card.agent_address === wallet || card.owner_address === wallet;
}

function summary(card: CardRow, funds: { availableCents: number; heldCents: number }): CardSummary {
  return {
    cardId: card.id,
    nameOnCard: card.name_on_card,
    lastFour: card.last_four,
    balanceCents: funds.availableCents,
    heldCents: funds.heldCents,
    status: card.status,
    createdAtMs: card.created_at,
  };
}

function listSummary(r: CardListRow): CardSummary {
  return {
    cardId: r.id,
    nameOnCard: r.name_on_card,
    lastFour: r.last_four,
    balanceCents: r.balance_cents,
    heldCents: r.held_cents,
    status: r.status,
    createdAtMs: r.created_at,
  };
}

function hashNonce(nonce: string): string {
  return createHash('sha256').update(`card402:details-nonce:${nonce.toLowerCase()}`).digest('hex');
}

const notFound = () => new DomainError('card_not_found', 'card not found');
export const cardClosed = () => new DomainError('card_closed', 'this card is closed; nothing about it can change and its details are no longer available');

/**
 * What a wallet can do with its cards once they exist. Every method checks that the wallet is the
 * card's agent (payer) or owner first and answers "not found" otherwise, so a stranger learns
 * nothing, not even that the card exists. Only `readDetails` ever decrypts card data.
 */
export class CardManagementService {
  private lastPurgeMs = 0;

  constructor(
    private readonly deps: { db: Db; cipher: CardDataCipher; clock: Clock; limits: DetailsLimits; metrics?: Metrics | undefined },
  ) {
    const { limits } = deps;
    if (!Number.isInteger(limits.noncesPerWindow) || limits.noncesPerWindow < 1) throw new RangeError('noncesPerWindow must be a positive integer');
    if (!(limits.windowMs > 0) || limits.nonceRetentionMs < limits.windowMs) throw new RangeError('nonce retention must cover the window');
  }

  /**
   * The cards the wallet holds (it bought them), as ASG lists them. Never reads the encrypted
   * column: lists cannot decrypt what they never load.
   */
  async listCards(wallet: string): Promise<CardSummary[]> {
    const rows = await listCardSummariesForWallet(this.deps.db, wallet, this.deps.clock.nowMs());
    return rows.map(listSummary);
  }

  /**
   * Cards other wallets bought and named this wallet owner of. Kept apart from listCards: a payer
   * may name any wallet owner without asking it, so these are not cards the wallet chose.
   */
  async listAssignedCards(wallet: string): Promise<AssignedCardSummary[]> {
    const rows = await listCardSummariesAssignedTo(this.deps.db, wallet, this.deps.clock.nowMs());
    return rows.map((r) => ({ ...listSummary(r), agentAddress: r.agent_address }));
  }

  async getCard(wallet: string, cardId: string): Promise<CardView> {
    const card = await this.cardFor(wallet, cardId);
    return this.view(card);
  }

  async balance(wallet: string, cardId: string): Promise<{ cardId: string; balanceCents: number; heldCents: number }> {
    const card = await this.cardFor(wallet, cardId);
    const funds = await cardFunds(this.deps.db, card.id, this.deps.clock.nowMs());
    return { cardId: card.id, balanceCents: funds.availableCents, heldCents: funds.heldCents };
  }

  /** Owner only: an agent cannot undo what its owner decided (nor revoke on the owner's behalf). */
  async setDetailsRevoked(wallet: string, cardId: string, revoked: boolean): Promise<CardView> {
    const card = await this.cardFor(wallet, cardId);
    if (card.owner_address !== wallet) {
      throw new DomainError('owner_only', `only the card's owner wallet may ${revoked ? 'revoke' : 'restore'} details`);
    }
    if (card.status === 'closed') throw cardClosed();
    if (Boolean(card.details_revoked) !== revoked) await setDetailsRevoked(this.deps.db, card.id, revoked, this.deps.clock.nowMs());
    return this.view(await this.cardFor(wallet, cardId));
  }

  /**
   * The card's movements newest first: loads and top-ups, and every authorization event (approved
   * and declined authorizations, captures, reversals, expiries, refunds) with its authorization.
   */
  async transactions(wallet: string, cardId: string, page: MovementPageRequest): Promise<CountedPage<Movement>> {
    const card = await this.cardFor(wallet, cardId);
    const { db } = this.deps;
    const offset = page.page === undefined ? 0 : (page.page - 1) * page.limit;
    const rows = await listMovements(db, card.id, { limit: page.limit + 1, after: page.cursor, offset });
    const items = rows.slice(0, page.limit);
    const authorizations = await authorizationsByIds(db, [...new Set(items.flatMap((r) => (r.authorization_id ? [r.authorization_id] : [])))]);
    const last = items[items.length - 1];
    return {
      items: items.map((row) => ({ ...row, authorization: row.authorization_id ? authorizations.get(row.authorization_id) : undefined })),
      nextCursor: rows.length > page.limit && last ? encodeMovementCursor(last) : null,
      total: (await countLedgerEntries(db, card.id)) + (await countSpendEntries(db, card.id)),
    };
  }

  async detailsAccess(wallet: string, cardId: string, page: PageRequest): Promise<DetailsAccessPage> {
    const card = await this.cardFor(wallet, cardId);
    const rows = await listDetailsAccess(this.deps.db, card.id, { limit: page.limit + 1, beforeSeq: page.cursor });
    return { ...toPage(rows, page.limit), unlisted: await unlistedRefusals(this.deps.db, card.id) };
  }

  /**
   * DESIGN §7, in this order: card exists and the wallet is a party (else not found, and nothing is
   * spent) → not revoked → nonce is a UUIDv4 → nonce unused on the card → under the wallet's own
   * rolling limit on the card →
   * decrypt → spend the nonce. The whole check-and-spend runs in one IMMEDIATE transaction, so
   * concurrent requests with one nonce yield exactly one success. Every attempt on an existing card
   * is audited in the same transaction (outcome, wallet, IP, user agent, time; never card data);
   * refusals of non-parties beyond ITEMIZED_REFUSALS_PER_* are counted instead of itemized.
   */
  async readDetails(req: DetailsRequest): Promise<CardDetails> {
    const { db, cipher, clock, limits } = this.deps;
    const nowMs = clock.nowMs();
    await this.purgeSpentNonces(nowMs);

    // For the metrics: the audited outcome, or not_found (no such card, or a stranger's request).
    let measured: DetailsAccessOutcome | 'not_found' = 'not_found';
    const outcome = await immediateTransaction<DetailsOutcome>(db, async (trx) => {
      measured = 'not_found';
      const card = await findCard(trx, req.cardId);
      if (!card) return { error: notFound() };
      const audit = (result: DetailsAccessOutcome) => {
        measured = result === 'not_authorized' ? 'not_found' : result;
        return recordDetailsAccess(trx, { cardId: card.id, wallet: req.wallet, ip: req.ip, userAgent: req.userAgent, outcome: result, nowMs });
      };

      if (!isParty(card, req.wallet)) {
        // Any wallet can sign for itself: the audit of a card it has the id of must not grow with
        // its requests. The answer is the same 404 whether the attempt is itemized or counted.
        const sinceMs = nowMs - REFUSAL_WINDOW_MS;
        const itemize =
          (await countItemizedRefusalsByWallet(trx, req.wallet, sinceMs)) < ITEMIZED_REFUSALS_PER_WALLET_PER_HOUR &&
          (await countItemizedRefusalsOnCard(trx, card.id, sinceMs)) < ITEMIZED_REFUSALS_PER_CARD_PER_HOUR;
        if (itemize) await audit('not_authorized');
        else await countUnlistedRefusal(trx, card.id, nowMs);
        return { error: notFound() };
      }
      if (card.status === 'closed') {
        // A closed card's details are gone for good: audited as `revoked` (the audit's closed set of outcomes).
        await audit('revoked');
        return { error: cardClosed() };
      }
      if (card.details_revoked) {
        await audit('revoked');
        return { error: new DomainError('details_revoked', "the card's owner has revoked access to its details") };
      }
      if (req.nonce === undefined || !UUID_V4.test(req.nonce)) {
        await audit('invalid_nonce');
        return { error: new DomainError('invalid_nonce', 'X-AGENT-NONCE must be a fresh UUID v4') };
      }
      const nonceHash = hashNonce(req.nonce);
      if (await isDetailsNonceSpent(trx, card.id, nonceHash)) {
        await audit('replayed');
        return { error: new DomainError('nonce_replayed', 'this X-AGENT-NONCE was already used; send a fresh UUID v4') };
      }
      // Each party has its own allowance (counted over the nonces it spent itself), so the holder
      // can never use up the owner's reads, nor the owner the holder's. When the owner is the
      // holder (the default) that is one allowance for the card, as in ASG.
      const windowStartMs = nowMs - limits.windowMs;
      const spentInWindow = await countDetailsNoncesSince(trx, card.id, req.wallet, windowStartMs);
      if (spentInWindow >= limits.noncesPerWindow) {
        // A slot frees up when enough of the oldest spends age out to go below the limit.
        const oldestBlocking = await detailsNonceTimeAt(trx, card.id, req.wallet, windowStartMs, spentInWindow - limits.noncesPerWindow);
        const freedAtMs = (oldestBlocking ?? nowMs) + limits.windowMs;
        const retryAfterSeconds = Math.max(1, Math.ceil((freedAtMs - nowMs) / 1000));
        await audit('rate_limited');
        return {
          error: new DomainError(
            'details_rate_limited',
            `each wallet of a card may read its details with at most ${limits.noncesPerWindow} nonces per ${limits.windowMs / 1000} s`,
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
      await spendDetailsNonce(trx, { cardId: card.id, nonceHash, wallet: req.wallet, nowMs });
      await audit('granted');
      return { details };
    });
    this.deps.metrics?.detailsRead(measured);
    if ('error' in outcome) throw outcome.error;
    return outcome.details;
  }

  private async purgeSpentNonces(nowMs: number): Promise<void> {
    if (nowMs - this.lastPurgeMs < DETAILS_PURGE_INTERVAL_MS) return;
    this.lastPurgeMs = nowMs;
    await purgeDetailsNoncesBefore(this.deps.db, nowMs - this.deps.limits.nonceRetentionMs);
  }

  private async cardFor(wallet: string, cardId: string): Promise<CardRow> {
    const card = await findCard(this.deps.db, cardId);
    if (!card || !isParty(card, wallet)) throw notFound();
    return card;
  }

  private async view(card: CardRow): Promise<CardView> {
    return {
      ...summary(card, await cardFunds(this.deps.db, card.id, this.deps.clock.nowMs())),
      agentAddress: card.agent_address,
      ownerAddress: card.owner_address,
      detailsRevoked: Boolean(card.details_revoked),
      updatedAtMs: card.updated_at,
      controls: await readControls(this.deps.db, card.id),
      ...(card.status === 'closed' ? { closure: await findClosure(this.deps.db, card.id) } : {}),
    };
  }
}

/** One line of a card's transactions: a ledger entry or an authorization event with its authorization. */
export interface Movement extends MovementRow {
  authorization: CardAuthorizationRow | undefined;
}

export interface MovementPageRequest {
  limit: number;
  cursor?: MovementCursor;
  page?: number;
}

/** A cursor is "<time>.<table>.<seq>" of the last line shown (see listMovements). */
export function encodeMovementCursor(row: MovementRow): string {
  return `${row.created_at}.${row.source === 'ledger' ? 0 : 1}.${row.seq}`;
}

export const MOVEMENT_CURSOR = /^(\d{1,15})\.([01])\.(\d{1,15})$/;

export function decodeMovementCursor(text: string): MovementCursor | null {
  const match = MOVEMENT_CURSOR.exec(text);
  if (!match) return null;
  return { createdAt: Number(match[1]), source: match[2] === '0' ? 0 : 1, seq: Number(match[3]) };
}

function toPage<T extends { seq: number }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, nextCursor: more && items.length > 0 ? String(items[items.length - 1]!.seq) : null };
}
