import { describeRoute } from '../openapi/route-doc.js';
import { Hono, type MiddlewareHandler } from 'hono';
import type { CardSessionService, CardSessionView } from '../../cards/sessions/card-sessions.js';
import type { SecretsSessionService } from '../../cards/sessions/secrets-sessions.js';
import * as api from '../../protocol/api.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { requestHeader } from '../kernel/request-header.js';
import { sealerFor } from './sealed-answer.js';

export const SCOPED_TOKEN_HEADER = 'X-Scoped-Token';

export interface CardDataRoutesDeps {
  sessions: CardSessionService;
  secrets: SecretsSessionService;
  authRead: MiddlewareHandler<WalletEnv>;
  authSingleUse: MiddlewareHandler<WalletEnv>;
  authDetails: MiddlewareHandler<WalletEnv>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function sessionJson(s: CardSessionView): api.CardSession {
  return {
    id: s.id,
    cardId: s.cardId,
    status: s.status,
    maxRedeemCount: s.maxRedeemCount,
    redeemCount: s.redeemCount,
    expiresAt: iso(s.expiresAtMs),
    createdAt: iso(s.createdAtMs),
    updatedAt: iso(s.updatedAtMs),
  };
}

/**
 * Card data by the paths beside GET /cards/:cardId/details (issue #14): card sessions with scoped
 * redeem tokens, and secrets sessions. Thin: parse, call the service, shape JSON. Every path that
 * releases card data goes through the same gate in the services (src/cards/card-data-gate.ts).
 */
export function cardDataRoutes(deps: CardDataRoutesDeps) {
  const { sessions, secrets, authRead, authSingleUse, authDetails } = deps;
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);

  routes.post('/cards/:cardId/sessions', describeRoute({
    summary: 'Create a card session (a scoped redeem token for the card data)', tags: ['card data'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, body: api.createCardSessionBodySchema,
    responses: { 201: { description: 'the session and its redeem token (shown once)', schema: api.createdCardSessionSchema } }, errors: ['CARD_NOT_FOUND', 'DETAILS_REVOKED', 'CONFLICT'],
  }), authSingleUse, async (c) => {
    const body = await readJsonBody(c, api.createCardSessionBodySchema);
    const created = await sessions.create(c.get('wallet').address, c.req.param('cardId'), body);
    return c.json({ session: sessionJson(created.session), redeemToken: created.redeemToken } satisfies api.CreatedCardSession, 201);
  });

  routes.get('/card-sessions/:sessionId', describeRoute({
    summary: 'A card session', tags: ['card data'], auth: 'wallet', params: { sessionId: 'the session id' },
    responses: { 200: { description: 'the session', schema: api.cardSessionResponseSchema } }, errors: ['NOT_FOUND'],
  }), authRead, async (c) => {
    const session = await sessions.get(c.get('wallet').address, c.req.param('sessionId'));
    return c.json({ session: sessionJson(session) } satisfies api.CardSessionResponse);
  });

  routes.get('/card-sessions/:sessionId/redemptions', describeRoute({
    summary: "A card session's redemptions", tags: ['card data'], auth: 'wallet', params: { sessionId: 'the session id' },
    responses: { 200: { description: 'its redemptions', schema: api.cardSessionRedemptionsSchema } }, errors: ['NOT_FOUND'],
  }), authRead, async (c) => {
    const result = await sessions.redemptions(c.get('wallet').address, c.req.param('sessionId'));
    return c.json({
      sessionId: result.session.id,
      redemptions: result.redemptions.map((r) => ({ id: r.id, ipAddress: r.ip, redeemedAt: iso(r.created_at) })),
    } satisfies api.CardSessionRedemptions);
  });

  // The scoped token alone authorizes a redemption (no wallet signature): whoever the creator gave
  // it to redeems it, as with Flowglad's card sessions.
  routes.post('/card-sessions/:sessionId/redeem', describeRoute({
    summary: 'Redeem a card session with its redeem token (Bearer)', tags: ['card data'], auth: 'none', params: { sessionId: 'the session id' },
    headers: [{ name: 'Authorization', required: true, description: 'Bearer <redeem token>' }, { name: 'X-AGENT-PUBKEY', description: 'optional X25519 key: the details come sealed to it' }],
    responses: { 200: { description: 'the card data (or sealed)', schema: api.redeemedCardSessionSchema.or(api.sealedRedeemedCardSessionSchema) } },
    errors: ['UNAUTHORIZED', 'NOT_FOUND', 'CONFLICT', 'DETAILS_REVOKED', 'DETAILS_RATE_LIMITED'],
  }), async (c) => {
    const token = requestHeader(c, SCOPED_TOKEN_HEADER)?.trim();
    if (!token) throw new AppError('SCOPED_TOKEN_MISSING', `${SCOPED_TOKEN_HEADER} is required`);
    const sealer = sealerFor(c);
    const result = await sessions.redeem({
      sessionId: c.req.param('sessionId'),
      token,
      ip: c.get('clientIp'),
      userAgent: requestHeader(c, 'User-Agent') ?? '',
    });
    const session = sessionJson(result.session);
    const details = api.cardDetailsView(result.details);
    if (sealer) return c.json({ session, sealed: sealer.sealJson(details) } satisfies api.SealedRedeemedCardSession);
    return c.json({ session, details } satisfies api.RedeemedCardSession);
  });

  routes.post('/cards/secrets/session', describeRoute({
    summary: 'Open a secrets session (a key the card secrets are encrypted to)', tags: ['card data'], auth: 'wallet',
    responses: { 201: { description: 'the session id and its key', schema: api.secretsSessionSchema } },
  }), authSingleUse, async (c) => {
    const created = await secrets.create(c.get('wallet').address);
    return c.json({ sessionId: created.sessionId, secretKey: created.secretKey, expiresAt: iso(created.expiresAtMs) } satisfies api.SecretsSession, 201);
  });

  routes.post('/cards/:cardId/secrets', describeRoute({
    summary: 'Card secrets encrypted to a secrets session', tags: ['card data'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, body: api.revealSecretsRequestSchema,
    responses: { 200: { description: 'the encrypted secrets', schema: api.cardSecretsSchema } }, errors: ['CARD_NOT_FOUND', 'NOT_FOUND', 'DETAILS_REVOKED', 'DETAILS_RATE_LIMITED'],
  }), authDetails, async (c) => {
    const { sessionId } = await readJsonBody(c, api.revealSecretsRequestSchema);
    const answer = await secrets.reveal({
      wallet: c.get('wallet').address,
      cardId: c.req.param('cardId'),
      sessionId,
      ip: c.get('clientIp'),
      userAgent: requestHeader(c, 'User-Agent') ?? '',
    });
    return c.json(answer satisfies api.CardSecrets);
  });

  return routes;
}
