import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import { immediateTransaction } from '../../db/transaction.js';
import type { CardRow, CardSessionRedemptionRow, CardSessionRow, CardSessionStatus } from '../../db/schema.js';
import { DomainError } from '../../errors.js';
import type { CardDetails } from '../card-data.js';
import { cardClosed, cardNotFound, isParty, type CardDataGate, type GateOutcome } from '../card-data-gate.js';
import { findCard } from '../repository.js';
import { REDEEM_SCOPE_PREFIX, redeemTokenHash, sameTokenHash, type RedeemTokens } from './redeem-tokens.js';
import { findCardSession, insertCardSession, listRedemptions, recordRedemption, transitionCardSession } from './repository.js';
import { effectiveCardSessionStatus } from './state.js';

/** Flowglad's ranges and defaults for a card session. */
export const SESSION_TTL_SECONDS = { min: 30, max: 3600, default: 300 } as const;
export const SESSION_MAX_REDEEM_COUNT = { min: 1, max: 10, default: 1 } as const;
export const CARD_SESSION_ID = /^cs_[0-9a-f]{32}$/;

export interface CardSessionView {
  id: string;
  cardId: string;
  status: CardSessionStatus;
  maxRedeemCount: number;
  redeemCount: number;
  expiresAtMs: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface RedeemRequest {
  sessionId: string;
  /** The raw X-Scoped-Token. */
  token: string;
  ip: string;
  userAgent: string;
}

const sessionNotFound = () => new DomainError('card_session_not_found', 'card session not found');
const notRedeemable = (status: CardSessionStatus) =>
  new DomainError('card_session_not_redeemable', `the card session is ${status} and cannot be redeemed`, { status });

function view(row: CardSessionRow, nowMs: number): CardSessionView {
  return {
    id: row.id,
    cardId: row.card_id,
    status: effectiveCardSessionStatus(row, nowMs),
    maxRedeemCount: row.max_redeem_count,
    redeemCount: row.redeem_count,
    expiresAtMs: row.expires_at,
    createdAtMs: row.created_at,
    updatedAtMs: row.updated_at,
  };
}

/** The slot a redemption takes in the card's hourly limit: one per session and redemption number. */
function redemptionSlot(sessionId: string, redemption: number): string {
  return createHash('sha256').update(`card402:redeem-slot:${sessionId}:${redemption}`).digest('hex');
}

/**
 * Card sessions (Flowglad-style, issue #14): the holder or owner of a card creates one and gets a
 * scoped redeem token; whoever holds the token redeems the card data with it alone, at most
 * maxRedeemCount times before the session expires. A redemption passes the same guards as every
 * card data path (CardDataGate) on behalf of the session's creator: it counts against that
 * wallet's hourly limit on the card and leaves an audit row with path `redeem`.
 */
export class CardSessionService {
  constructor(private readonly deps: { db: Db; clock: Clock; gate: CardDataGate; tokens: RedeemTokens; purgeSpentSlots: (nowMs: number) => Promise<void> }) {}

  /**
   * Holder or owner only (a stranger gets the same 404 as for a missing card); the card must be
   * usable now (not revoked, active), or the token could never be redeemed. Nothing is audited or
   * spent: creating a session releases no card data.
   */
  async create(wallet: string, cardId: string, opts: { ttlSeconds: number; maxRedeemCount: number }): Promise<{ session: CardSessionView; redeemToken: string }> {
    const { db, clock, tokens } = this.deps;
    const card = await findCard(db, cardId);
    if (!card || !isParty(card, wallet)) throw cardNotFound();
    assertUsable(card);
    const nowMs = clock.nowMs();
    const id = `cs_${randomBytes(16).toString('hex')}`;
    const expiresAtMs = nowMs + opts.ttlSeconds * 1000;
    const redeemToken = await tokens.sign({ sessionId: id, cardId: card.id, wallet, issuedAtMs: nowMs, expiresAtMs });
    await insertCardSession(db, { id, cardId: card.id, createdBy: wallet, maxRedeemCount: opts.maxRedeemCount, tokenHash: redeemTokenHash(redeemToken), expiresAtMs, nowMs });
    const row = await findCardSession(db, id);
    return { session: view(row!, nowMs), redeemToken };
  }

  /** The session, for its card's holder or owner; anyone else gets 404, as for a missing session. */
  async get(wallet: string, sessionId: string): Promise<CardSessionView> {
    const row = await this.sessionFor(wallet, sessionId);
    return view(row, this.deps.clock.nowMs());
  }

  async redemptions(wallet: string, sessionId: string): Promise<{ session: CardSessionView; redemptions: CardSessionRedemptionRow[] }> {
    const row = await this.sessionFor(wallet, sessionId);
    return { session: view(row, this.deps.clock.nowMs()), redemptions: await listRedemptions(this.deps.db, row.id) };
  }

  /**
   * With the X-Scoped-Token only. The token is checked before anything is read: its signature
   * (401), then that it is for this session (403); then the session exists (404), the token's scope
   * is the session's card and its subject the session's creator (403), and it is byte for byte the
   * token issued (401: a token minted with a leaked secret opens nothing). The rest runs in one
   * IMMEDIATE transaction through the card data gate, whose path check is the session's own state
   * (409 when expired, used up or scrubbed), so of concurrent redemptions of a one-use session
   * exactly one succeeds.
   */
  async redeem(req: RedeemRequest): Promise<{ session: CardSessionView; details: CardDetails }> {
    const { db, clock, gate, tokens } = this.deps;
    const claims = await tokens.verify(req.token);
    if (!claims) throw new DomainError('scoped_token_invalid', 'X-Scoped-Token is not a valid redeem token');
    if (claims.jti !== req.sessionId) throw new DomainError('scoped_token_scope_mismatch', 'the redeem token is for another card session');
    const nowMs = clock.nowMs();
    await this.deps.purgeSpentSlots(nowMs);
    const tokenHash = redeemTokenHash(req.token);

    const outcome = await immediateTransaction<GateOutcome | { error: Error }>(db, async (trx): Promise<GateOutcome | { error: Error }> => {
      const session = await findCardSession(trx, req.sessionId);
      if (!session) return { error: sessionNotFound() };
      if (claims.scope !== `${REDEEM_SCOPE_PREFIX}${session.card_id}` || claims.sub !== session.created_by) {
        return { error: new DomainError('scoped_token_scope_mismatch', "the redeem token's scope is not this session's card") };
      }
      if (session.token_hash !== null && !sameTokenHash(session.token_hash, tokenHash)) {
        return { error: new DomainError('scoped_token_invalid', 'X-Scoped-Token is not the token issued for this session') };
      }
      const redemption = session.redeem_count + 1;
      return gate.open(trx, { cardId: session.card_id, wallet: session.created_by, path: 'redeem', ip: req.ip, userAgent: req.userAgent, nowMs }, {
        slotHash: redemptionSlot(session.id, redemption),
        check: async () => {
          const status = effectiveCardSessionStatus(session, nowMs);
          if (status !== 'active' || session.token_hash === null) return { outcome: 'session_unusable', error: notRedeemable(status) };
          return undefined;
        },
        onGranted: async () => {
          const to = redemption >= session.max_redeem_count ? 'redeemed' : 'active';
          const changed = await transitionCardSession(trx, session.id, { from: 'active', to, redeemCountWas: session.redeem_count, redeemCount: redemption, nowMs });
          // Inside the IMMEDIATE transaction nothing else can have moved the session.
          if (!changed) throw new Error(`card session ${session.id} changed during its redemption`);
          await recordRedemption(trx, { sessionId: session.id, ip: req.ip, nowMs });
        },
      });
    });
    if ('error' in outcome) throw outcome.error;
    const row = await findCardSession(db, req.sessionId);
    return { session: view(row!, nowMs), details: outcome.details };
  }

  private async sessionFor(wallet: string, sessionId: string): Promise<CardSessionRow> {
    if (!CARD_SESSION_ID.test(sessionId)) throw sessionNotFound();
    const row = await findCardSession(this.deps.db, sessionId);
    if (!row) throw sessionNotFound();
    const card = await findCard(this.deps.db, row.card_id);
    if (!card || !isParty(card, wallet)) throw sessionNotFound();
    return row;
  }
}

/** A card whose data no path would release: refuse to hand out a way to ask for it. */
export function assertUsable(card: CardRow): void {
  if (card.status === 'closed') throw cardClosed();
  if (card.details_revoked) throw new DomainError('details_revoked', "the card's owner has revoked access to its details");
  if (card.status !== 'active') throw new DomainError('card_not_active', `the card is ${card.status}: card data is released only for active cards`);
}
