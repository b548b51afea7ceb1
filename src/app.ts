import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CardDataCipher } from './cards/card-data.js';
import { CardManagementService, CardServiceError } from './cards/management.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/open.js';
import type { AppEnv } from './http/kernel/env.js';
import { allowedMethodsOf, type AllowedMethods } from './http/allowed-methods.js';
import { AppError, CLIENT_CLOSED_REQUEST_STATUS, RequestAbortedError, errorBody } from './http/kernel/errors.js';
import { accessLog } from './http/kernel/access-log.js';
import { bodyLimit } from './http/kernel/body-limit.js';
import { clientIp } from './http/kernel/client-ip.js';
import { requestId } from './http/kernel/request-id.js';
import { securityHeaders } from './http/kernel/security-headers.js';
import { cardRoutes, cardServiceErrorToAppError } from './http/routes/cards.js';
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
  /** Ed25519 verifier for wallet signatures; default Node's built-in (the benchmark swaps in tweetnacl). */
  signatureVerifier?: SignatureVerifier;
  /**
   * Paid routes (x402 card creation and funding, GET /payments/:id); absent, they are not served.
   * Build it with buildPaymentStack(...).service (src/payments/wiring.ts) from the keys, issuer,
   * facilitator, card cipher and RPC; run startPaymentRuntime for recovery and the reconciler.
   */
  payments?: PaymentService;
}

function respondWithError(c: Context<AppEnv>, error: AppError) {
  for (const [name, value] of Object.entries(error.options.headers ?? {})) c.header(name, value);
  return c.json(errorBody(error), error.status);
}

/** Maps anything thrown to `{error, code}` JSON; unexpected errors are logged, never shown. */
function toAppError(err: unknown, c: Context<AppEnv>, logger: Logger): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof CardServiceError) return cardServiceErrorToAppError(err);
  if (err instanceof HTTPException) {
    if (err.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body is too large');
    if (err.status === 400) return new AppError('BAD_REQUEST', 'malformed request');
  }
  logger.error('unhandled error', { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, err });
  return new AppError('INTERNAL_ERROR', 'internal server error', { extra: { requestId: c.get('requestId') } });
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestId());
  app.use('*', clientIp({ trustedProxyHops: deps.config.trustedProxyHops }));
  app.use('*', accessLog(deps.logger, deps.clock));
  app.use('*', securityHeaders());
  app.use('*', bodyLimit(deps.config.bodyLimitBytes));

  app.route('/', publicRoutes(deps));
  const { config, db, clock } = deps;
  const cards = new CardManagementService({
    db,
    clock,
    cipher: deps.cardCipher,
    limits: {
      noncesPerWindow: config.details.noncesPerWindow,
      windowMs: config.details.windowSeconds * 1000,
      nonceRetentionMs: config.details.nonceRetentionSeconds * 1000,
    },
  });
  const walletAuth = createWalletAuth({ config, db, clock, verifier: deps.signatureVerifier });
  app.route('/', cardRoutes({ cards, ...walletAuth }));
  if (deps.payments) app.route('/', paidRoutes({ config: deps.config, payments: deps.payments, authRead: walletAuth.authRead }));

  let allowedMethods: AllowedMethods | undefined; // built on first use: every route is registered by then
  app.notFound((c) => {
    allowedMethods ??= allowedMethodsOf(app.routes);
    const allow = allowedMethods(c.req.path);
    if (allow.length > 0) {
      const error = new AppError('METHOD_NOT_ALLOWED', `${c.req.path} is served with ${allow.join(', ')}, not ${c.req.method}`, { headers: { Allow: allow.join(', ') } });
      return respondWithError(c, error);
    }
    return respondWithError(c, new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
  });
  app.onError((err, c) => {
    // A client that hangs up mid-request is not a server fault: no error line, no 5xx; the access
    // log records it at info level as 499. The response goes nowhere.
    if (err instanceof RequestAbortedError) return new Response(null, { status: CLIENT_CLOSED_REQUEST_STATUS });
    return respondWithError(c, toAppError(err, c, deps.logger));
  });
  return app;
}
