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

  routes.post('/cards/:cardId/sessions', authSingleUse, async (c) => {
    const body = await readJsonBody(c, api.createCardSessionBodySchema);
    const created = await sessions.create(c.get('wallet').address, c.req.param('cardId'), body);
    return c.json({ session: sessionJson(created.session), redeemToken: created.redeemToken } satisfies api.CreatedCardSession, 201);
  });

  routes.get('/card-sessions/:sessionId', authRead, async (c) => {
    const session = await sessions.get(c.get('wallet').address, c.req.param('sessionId'));
    return c.json({ session: sessionJson(session) } satisfies api.CardSessionResponse);
  });

  routes.get('/card-sessions/:sessionId/redemptions', authRead, async (c) => {
    const result = await sessions.redemptions(c.get('wallet').address, c.req.param('sessionId'));
    return c.json({
      sessionId: result.session.id,
      redemptions: result.redemptions.map((r) => ({ id: r.id, ipAddress: r.ip, redeemedAt: iso(r.created_at) })),
    } satisfies api.CardSessionRedemptions);
  });

  // The scoped token alone authorizes a redemption (no wallet signature): whoever the creator gave
  // it to redeems it, as with Flowglad's card sessions.
  routes.post('/card-sessions/:sessionId/redeem', async (c) => {
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

  routes.post('/cards/secrets/session', authSingleUse, async (c) => {
    const created = await secrets.create(c.get('wallet').address);
    return c.json({ sessionId: created.sessionId, secretKey: created.secretKey, expiresAt: iso(created.expiresAtMs) } satisfies api.SecretsSession, 201);
  });

  routes.post('/cards/:cardId/secrets', authDetails, async (c) => {
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
