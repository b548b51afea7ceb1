import { Hono } from 'hono';
import type { CardDataCipher } from './cards/card-data.js';
import { CardDataGate } from './cards/card-data-gate.js';
import { CardManagementService } from './cards/management.js';
import { CardSessionService } from './cards/sessions/card-sessions.js';
import type { RedeemTokens } from './cards/sessions/redeem-tokens.js';
import { SecretsSessionService } from './cards/sessions/secrets-sessions.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/open.js';
import { ROUTER_OPTIONS, type AppEnv } from './http/kernel/env.js';
import { AppError, errorResponse } from './http/kernel/errors.js';
import { accessLog } from './http/kernel/access-log.js';
import { bodyLimit } from './http/kernel/body-limit.js';
import { methodNotAllowed } from './http/kernel/method-not-allowed.js';
import { clientIp } from './http/kernel/client-ip.js';
import { requestId } from './http/kernel/request-id.js';
import { securityHeaders } from './http/kernel/security-headers.js';
import { cardDataRoutes } from './http/routes/card-data.js';
import { cardRoutes } from './http/routes/cards.js';
import { publicRoutes, type PaymentTerms } from './http/routes/public.js';
import type { Logger } from './logger.js';
import { createWalletAuth } from './wallet-auth/index.js';
import type { SignatureVerifier } from './wallet-auth/verifier.js';
import { paidRoutes } from './http/routes/paid.js';
import type { PaymentService } from './payments/service.js';

export interface AppDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  paymentTerms: PaymentTerms;
  /** Encrypts/decrypts card data at rest (DESIGN §7). */
  cardCipher: CardDataCipher;
  /** Signs and verifies card sessions' scoped redeem tokens (loadRedeemTokenSecrets in server.ts). */
  redeemTokens: RedeemTokens;
  /** Ed25519 verifier for wallet signatures; default Node's built-in (the benchmark swaps in tweetnacl). */
  signatureVerifier?: SignatureVerifier;
  /**
   * Paid routes (x402 card creation and funding, GET /payments/:id); absent, they are not served.
   * Build it with buildPaymentStack(...).service (src/payments/wiring.ts) from the keys, issuer,
   * facilitator, card cipher and RPC; run startPaymentRuntime for recovery and the reconciler.
   */
  payments?: PaymentService;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>(ROUTER_OPTIONS);
  app.use('*', requestId());
  app.use('*', clientIp({ trustedProxyHops: deps.config.trustedProxyHops }));
  app.use('*', accessLog(deps.logger, deps.clock));
  app.use('*', securityHeaders());
  app.use('*', bodyLimit(deps.config.bodyLimitBytes));
  app.use('*', methodNotAllowed(app));

  app.route('/', publicRoutes(deps));
  const { config, db, clock } = deps;
  // One gate for every path card data leaves by: details, card session redemptions, secrets.
  const gate = new CardDataGate({
    cipher: deps.cardCipher,
    limits: {
      noncesPerWindow: config.details.noncesPerWindow,
      windowMs: config.details.windowSeconds * 1000,
      nonceRetentionMs: config.details.nonceRetentionSeconds * 1000,
    },
  });
  const cards = new CardManagementService({ db, clock, gate });
  const purgeSpentSlots = (nowMs: number) => cards.purgeSpentNonces(nowMs);
  const walletAuth = createWalletAuth({ config, db, clock, verifier: deps.signatureVerifier });
  app.route('/', cardRoutes({ cards, ...walletAuth }));
  app.route('/', cardDataRoutes({
    sessions: new CardSessionService({ db, clock, gate, tokens: deps.redeemTokens, purgeSpentSlots }),
    secrets: new SecretsSessionService({ db, clock, gate, cipher: deps.cardCipher, ttlMs: config.cardSessions.secretsSessionTtlMs, purgeSpentSlots }),
    ...walletAuth,
  }));
  if (deps.payments) app.route('/', paidRoutes({ config: deps.config, payments: deps.payments, authRead: walletAuth.authRead }));

  app.notFound((c) => errorResponse(c, new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), deps.logger));
  app.onError((err, c) => errorResponse(c, err, deps.logger));
  return app;
}
