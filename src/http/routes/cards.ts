import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { decodeMovementCursor, MOVEMENT_CURSOR, type CardManagementService, type CardSummary, type CardView, type Movement } from '../../cards/management.js';
import type { SpendingService } from '../../cards/spend/service.js';
import { cardDetailsView } from '../../protocol/api.js';
import * as schemas from '../../protocol/api.js';
import { describeRoute } from '../openapi/route-doc.js';
import type * as api from '../../protocol/api.js';
import { centsToDollarNumber } from '../../protocol/money/units.js';
import type { SealedDetailsResponse } from '../../protocol/sealed.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import type { IdempotencyEnv } from '../idempotency/middleware.js';
import { closureJson } from './closing.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { requestHeader } from '../kernel/request-header.js';
import type { DeclineReason } from '../../protocol/spending.js';
import { controlsJson, merchantJson } from './spend-views.js';
import { sealerFor } from './sealed-answer.js';

export const DETAILS_NONCE_HEADER = 'X-AGENT-NONCE';
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface CardRoutesDeps {
  cards: CardManagementService;
  /** Freeze and unfreeze are spend-control changes (roles, DESIGN §8). */
  spending: SpendingService;
  /** Wallet auth for plain reads: v1 signatures re-usable within the timestamp window (ASG). */
  authRead: MiddlewareHandler<WalletEnv>;
  /** Wallet auth for state changes: v2 single-use; v1 held to its first client and second. */
  authSingleUse: MiddlewareHandler<WalletEnv>;
  /** Wallet auth for card details: as authSingleUse, and one details read per v1 signature. */
  authDetails: MiddlewareHandler<WalletEnv>;
  /** Idempotency-Key on writes (src/http/idempotency), mounted after wallet auth. */
  idempotent: MiddlewareHandler<IdempotencyEnv>;
}

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, 'cursor must be the nextCursor of a previous page')
    .transform(Number)
    .optional(),
});

/**
 * `GET /cards` lists the cards the wallet holds (bought), as ASG clients expect; `?role=owner` lists
 * the cards other wallets bought and named it owner of. Other query parameters are ignored, as before.
 */
const listQuery = z.object({ role: z.enum(['holder', 'owner']).default('holder') });

export const ASSIGNED_CARDS_DESCRIPTION =
  'Cards other wallets bought and named you owner of. Any payer can name any wallet owner without asking it: ' +
  'you did not buy or accept these cards, and their holder (agentAddress) can use and read them.';

function parseQuery<T extends z.ZodType>(c: Context, schema: T): z.output<T> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) {
    const summary = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new AppError('VALIDATION_ERROR', `invalid query: ${summary}`);
  }
  return parsed.data;
}

const parsePage = (c: Context) => parseQuery(c, pageQuery);

/** Transactions also take ASG's `?page=N` (1-based, with `limit`); a page number and a cursor do not mix. */
const numberedPageQuery = pageQuery
  .extend({
    page: z.coerce.number().int().min(1).max(1_000_000).optional(),
    // Transactions page over loads and authorization events together: the cursor names a position in both.
    cursor: z
      .string()
      .regex(MOVEMENT_CURSOR, 'cursor must be the nextCursor of a previous page')
      .transform((text) => decodeMovementCursor(text)!)
      .optional(),
  })
  .refine((q) => q.page === undefined || q.cursor === undefined, { message: 'page and cursor cannot be used together', path: ['page'] });

/** Every ledger entry is a completed movement of US dollars (ASG's `status` and `currency`). */
const LEDGER_ENTRY_STATUS = 'completed';
const CURRENCY = 'USD';
/** The balance is summed from card402's own ledger of loads and top-ups (ASG's `source`). */
// ASG answers "local" for a balance it holds itself ("4payments" when it asks its issuer); ours is summed from our own ledger.
const BALANCE_SOURCE = 'local';

const iso = (ms: number) => new Date(ms).toISOString();

function summaryJson(card: CardSummary): api.CardSummary {
  return {
    cardId: card.cardId,
    nameOnCard: card.nameOnCard,
    lastFour: card.lastFour,
    balance: centsToDollarNumber(card.balanceCents),
    balanceCents: card.balanceCents,
    held: centsToDollarNumber(card.heldCents),
    heldCents: card.heldCents,
    status: card.status,
    createdAt: iso(card.createdAtMs),
  };
}

function cardJson(card: CardView): api.Card {
  return {
    ...summaryJson(card),
    detailsRevoked: card.detailsRevoked,
    agentAddress: card.agentAddress,
    ownerAddress: card.ownerAddress,
    updatedAt: iso(card.updatedAtMs),
    ...(card.closure ? { closure: closureJson(card.closure) } : {}),
    controls: controlsJson(card.controls),
  };
}

/**
 * A transactions line. Loads and top-ups as before; an authorization event carries its
 * authorization: `authorization` (−held, or 0 when declined, with the reason), `capture` (−captured),
 * `reversal` and `expiry` (+released), `refund` (+refunded).
 */
function movementJson(m: Movement): api.CardTransaction {
  const auth = m.authorization;
  if (m.source === 'ledger' || !auth) {
    return { id: m.id, type: m.kind, amount: centsToDollarNumber(m.amount_cents), amountCents: m.amount_cents, description: m.description, createdAt: iso(m.created_at), status: LEDGER_ENTRY_STATUS, currency: CURRENCY };
  }
  const declined = m.kind === 'decline';
  const signed = m.kind === 'authorization' || m.kind === 'capture' ? -m.amount_cents : declined ? 0 : m.amount_cents;
  return {
    id: m.id,
    type: declined ? 'authorization' : m.kind,
    amount: centsToDollarNumber(signed),
    amountCents: signed,
    description: `${declined ? 'declined authorization' : m.kind} at ${auth.merchant_name}`,
    createdAt: iso(m.created_at),
    status: declined ? 'declined' : m.kind === 'authorization' ? 'approved' : LEDGER_ENTRY_STATUS,
    currency: CURRENCY,
    authorizationId: auth.id,
    merchant: merchantJson(auth),
    ...(declined && auth.decline_reason ? { declineReason: auth.decline_reason as DeclineReason } : {}),
    ...(declined && auth.decline_detail ? { declineDetail: auth.decline_detail } : {}),
  };
}

/** Wallet-signed card management (DESIGN §3, §6–7). Thin: parse, call the service, shape JSON. */
export function cardRoutes(deps: CardRoutesDeps) {
  const { cards, spending, authRead, authSingleUse, authDetails, idempotent } = deps;
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);

  routes.get('/cards', describeRoute({
    summary: 'List your cards',
    description: 'The cards this wallet holds (bought); `?role=owner`: cards other wallets bought and named this wallet owner of.',
    tags: ['cards'], auth: 'wallet', query: listQuery,
    responses: { 200: { description: 'the cards (with role=owner: `{role, description, cards}`)', schema: schemas.cardListSchema.or(schemas.assignedCardListSchema) } },
  }), authRead, async (c) => {
    const { role } = parseQuery(c, listQuery);
    const wallet = c.get('wallet').address;
    if (role === 'owner') {
      const assigned = await cards.listAssignedCards(wallet);
      return c.json({
        role: 'owner',
        description: ASSIGNED_CARDS_DESCRIPTION,
        cards: assigned.map((card) => ({ ...summaryJson(card), agentAddress: card.agentAddress })),
      } satisfies api.AssignedCardList);
    }
    const list = await cards.listCards(wallet);
    return c.json({ cards: list.map(summaryJson) } satisfies api.CardList);
  });

  routes.get('/cards/:cardId', describeRoute({
    summary: 'Get a card', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' },
    responses: { 200: { description: 'the card', schema: schemas.cardResponseSchema } }, errors: ['CARD_NOT_FOUND'],
  }), authRead, async (c) => {
    const card = await cards.getCard(c.get('wallet').address, c.req.param('cardId'));
    return c.json({ card: cardJson(card) } satisfies api.CardResponse);
  });

  // hono answers HEAD with the GET handler and drops the body: for details that would spend a
  // nonce, a rate-limit slot and a single-use signature, and audit "granted", for nothing shown.
  const noHead: MiddlewareHandler<AppEnv> = async function refuseHead(c, next) {
    if (c.req.method === 'HEAD') {
      throw new AppError('METHOD_NOT_ALLOWED', 'card details are read with GET', { headers: { Allow: 'GET' } });
    }
    await next();
  };

  routes.get('/cards/:cardId/details', describeRoute({
    summary: 'Read card details (number, CVV, expiry, billing address)',
    description: 'Needs a fresh UUIDv4 in X-AGENT-NONCE; at most DETAILS_NONCES_PER_WINDOW (5) nonces per wallet per card per hour; every attempt is audited.',
    tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' },
    headers: [{ name: DETAILS_NONCE_HEADER, required: true, description: 'a fresh UUID v4, used once', schema: { type: 'string', format: 'uuid' } }],
    responses: { 200: { description: 'the card data', schema: schemas.cardDetailsResponseSchema } },
    errors: ['CARD_NOT_FOUND', 'DETAILS_REVOKED', 'INVALID_NONCE', 'REPLAY_REJECTED', 'DETAILS_RATE_LIMITED'],
  }), noHead, authDetails, async (c) => {
    // Parsed and prepared before the card is touched: a bad key spends nothing.
    const sealer = sealerFor(c);
    const details = await cards.readDetails({
      wallet: c.get('wallet').address,
      cardId: c.req.param('cardId'),
      nonce: requestHeader(c, DETAILS_NONCE_HEADER)?.trim(),
      ip: c.get('clientIp'),
      userAgent: requestHeader(c, 'User-Agent') ?? '',
    });
    // Without X-AGENT-PUBKEY the answer is exactly ASG's; with it, no plaintext at all.
    if (sealer) return c.json({ sealed: sealer.sealJson(cardDetailsView(details)) } satisfies SealedDetailsResponse);
    return c.json({ details: cardDetailsView(details) } satisfies api.CardDetailsResponse);
  });

  // ASG's freeze and unfreeze: PATCH status locked / active, with the same roles.
  for (const [action, status] of [['freeze', 'locked'], ['unfreeze', 'active']] as const) {
    routes.post(`/cards/:cardId/${action}`, describeRoute({
      summary: action === 'freeze' ? 'Freeze (lock) a card' : 'Unfreeze a card', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' },
      headers: [{ name: 'Idempotency-Key', description: 'optional: a retry with the same key gets the first answer' }],
      responses: { 200: { description: 'the new status', schema: schemas.statusChangeSchema } }, errors: ['CARD_NOT_FOUND', 'OWNER_ONLY', 'CONFLICT'],
    }), authSingleUse, idempotent, async (c) => {
      const { card } = await spending.updateControls(c.get('wallet').address, c.req.param('cardId'), { status });
      return c.json({ success: true, cardId: card.id, status: card.status } satisfies api.StatusChange);
    });
  }

  for (const [action, revoked] of [['revoke-details', true], ['restore-details', false]] as const) {
    routes.post(`/cards/:cardId/${action}`, describeRoute({
      summary: revoked ? 'Revoke access to card details' : 'Restore access to card details (owner only)', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' },
      headers: [{ name: 'Idempotency-Key', description: 'optional: a retry with the same key gets the first answer' }],
      responses: { 200: { description: 'whether details are revoked now', schema: schemas.detailsRevocationSchema } }, errors: ['CARD_NOT_FOUND', 'OWNER_ONLY', 'CONFLICT'],
    }), authSingleUse, idempotent, async (c) => {
      const card = await cards.setDetailsRevoked(c.get('wallet').address, c.req.param('cardId'), revoked);
      return c.json({ success: true, cardId: card.cardId, detailsRevoked: card.detailsRevoked } satisfies api.DetailsRevocation);
    });
  }

  routes.get('/cards/:cardId/transactions', describeRoute({
    summary: 'List card transactions', description: 'Newest first; `?page=N&limit=M` (ASG) or `?cursor=` (nextCursor), not both.',
    tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, query: numberedPageQuery,
    responses: { 200: { description: 'a page of ledger entries', schema: schemas.transactionsPageSchema } }, errors: ['CARD_NOT_FOUND'],
  }), authRead, async (c) => {
    const page = parseQuery(c, numberedPageQuery);
    const result = await cards.transactions(c.get('wallet').address, c.req.param('cardId'), page);
    return c.json({
      cardId: c.req.param('cardId'),
      transactions: result.items.map(movementJson),
      nextCursor: result.nextCursor,
      pagination: {
        page: page.cursor === undefined ? (page.page ?? 1) : null,
        limit: page.limit,
        total: result.total,
        pages: Math.ceil(result.total / page.limit),
      },
    } satisfies api.TransactionsPage);
  });

  routes.get('/cards/:cardId/balance', describeRoute({
    summary: 'Get a card balance', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' },
    responses: { 200: { description: 'the balance', schema: schemas.balanceResponseSchema } }, errors: ['CARD_NOT_FOUND'],
  }), authRead, async (c) => {
    const result = await cards.balance(c.get('wallet').address, c.req.param('cardId'));
    return c.json({
      cardId: result.cardId,
      balance: centsToDollarNumber(result.balanceCents),
      balanceCents: result.balanceCents,
      held: centsToDollarNumber(result.heldCents),
      heldCents: result.heldCents,
      currency: CURRENCY,
      source: BALANCE_SOURCE,
    } satisfies api.BalanceResponse);
  });

  routes.get('/cards/:cardId/details-access', describeRoute({
    summary: 'The card details access audit', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, query: pageQuery,
    responses: { 200: { description: 'attempts, newest first, and refusals counted beyond them', schema: schemas.detailsAccessPageSchema } }, errors: ['CARD_NOT_FOUND'],
  }), authRead, async (c) => {
    const page = parsePage(c);
    const result = await cards.detailsAccess(c.get('wallet').address, c.req.param('cardId'), page);
    return c.json({
      cardId: c.req.param('cardId'),
      attempts: result.items.map((a) => ({
        time: iso(a.created_at),
        path: a.path,
        wallet: a.wallet_address,
        ip: a.ip,
        userAgent: a.user_agent,
        outcome: a.outcome,
      })),
      nextCursor: result.nextCursor,
      unlistedRefusals: {
        attempts: result.unlisted.attempts,
        firstAt: result.unlisted.firstAtMs === null ? null : iso(result.unlisted.firstAtMs),
        lastAt: result.unlisted.lastAtMs === null ? null : iso(result.unlisted.lastAtMs),
      },
    } satisfies api.DetailsAccessPage);
  });

  return routes;
}
