import type { Metrics } from '../metrics/index.js';
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { CardAuthorizationRow, CardClosureRow, CardDetailsAccessRow, CardRow, CardStatus } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { immediateTransaction } from '../db/transaction.js';
import type { CardDetails } from './card-data.js';
import { cardClosed, cardNotFound, isParty, type CardDataGate, type GateOutcome } from './card-data-gate.js';
import { findClosure } from './closure-repository.js';
import { isDetailsNonceSpent, listDetailsAccess, purgeDetailsNoncesBefore, unlistedRefusals, type UnlistedRefusals } from './details-repository.js';
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

export type { DetailsLimits } from './card-data-gate.js';
export { ITEMIZED_REFUSALS_PER_CARD_PER_HOUR, ITEMIZED_REFUSALS_PER_WALLET_PER_HOUR } from './card-data-gate.js';
export { cardClosed } from './card-data-gate.js';

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

const notFound = cardNotFound;

/**
 * What a wallet can do with its cards once they exist. Every method checks that the wallet is the
 * card's agent (payer) or owner first and answers "not found" otherwise, so a stranger learns
 * nothing, not even that the card exists. Only `readDetails` ever decrypts card data.
 */
export class CardManagementService {
  private lastPurgeMs = 0;

  constructor(
    private readonly deps: { db: Db; clock: Clock; gate: CardDataGate; metrics?: Metrics | undefined },
  ) {}


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
   * DESIGN §7: the guards every card data path passes (CardDataGate: party, revocation, an active
   * card, the hourly limit, the audit), with the details path's own check between them: the
   * X-AGENT-NONCE is a UUIDv4 never spent on the card. The whole check-and-spend runs in one
   * IMMEDIATE transaction, so concurrent requests with one nonce yield exactly one success.
   */
  async readDetails(req: DetailsRequest): Promise<CardDetails> {
    const nowMs = this.deps.clock.nowMs();
    await this.purgeSpentNonces(nowMs);
    const nonce = req.nonce;
    const nonceHash = nonce !== undefined && UUID_V4.test(nonce) ? hashNonce(nonce) : undefined;
    const outcome = await immediateTransaction<GateOutcome>(this.deps.db, (trx) =>
      this.deps.gate.open(trx, { cardId: req.cardId, wallet: req.wallet, path: 'details', ip: req.ip, userAgent: req.userAgent, nowMs }, {
        slotHash: nonceHash ?? '',
        check: async (card) => {
          if (nonceHash === undefined) return { outcome: 'invalid_nonce', error: new DomainError('invalid_nonce', 'X-AGENT-NONCE must be a fresh UUID v4') };
          if (await isDetailsNonceSpent(trx, card.id, nonceHash)) {
            return { outcome: 'replayed', error: new DomainError('nonce_replayed', 'this X-AGENT-NONCE was already used; send a fresh UUID v4') };
          }
          return undefined;
        },
      }),
    );
    this.deps.metrics?.detailsRead(outcome.measured);
    if ('error' in outcome) throw outcome.error;
    return outcome.details;
  }

  /** Spent nonces and other paths' slots past retention go, at most once per DETAILS_PURGE_INTERVAL_MS. */
  async purgeSpentNonces(nowMs: number): Promise<void> {
    if (nowMs - this.lastPurgeMs < DETAILS_PURGE_INTERVAL_MS) return;
    this.lastPurgeMs = nowMs;
    await purgeDetailsNoncesBefore(this.deps.db, nowMs - this.deps.gate.limits.nonceRetentionMs);
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
