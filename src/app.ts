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
import { idempotency } from './http/idempotency/middleware.js';
import { cardDataRoutes } from './http/routes/card-data.js';
import { cardRoutes } from './http/routes/cards.js';
import { closingRoutes } from './http/routes/closing.js';
import { CardClosing } from './cards/closing.js';
import { publicRoutes, type ChannelPoolHealth, type PaymentTerms } from './http/routes/public.js';
import type { Logger } from './logger.js';
import { createWalletAuth } from './wallet-auth/index.js';
import type { SignatureVerifier } from './wallet-auth/verifier.js';
import { paidRoutes } from './http/routes/paid.js';
import { ownerApprovalRoutes } from './http/routes/payment-requests.js';
import { CardNetworkIndex } from './cards/spend/network-index.js';
import { SpendingService } from './cards/spend/service.js';
import { WriteBatcher } from './db/write-batch.js';
import { cardControlsRoutes } from './http/routes/card-controls.js';
import { issuerRoutes } from './http/routes/issuer.js';
import { sandboxRoutes } from './http/routes/sandbox.js';
import type { PaymentService } from './payments/service.js';
import type { Facilitator } from './facilitator/types.js';
import { facilitatorRoutes } from './http/routes/facilitator.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { docsRoutes } from './http/routes/docs.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { WebhookService } from './webhooks/service.js';
import { VERSION } from './version.js';
import { requestMetrics } from './http/kernel/request-metrics.js';
import { Metrics } from './metrics/index.js';
import { countPaymentsByKindAndStatus } from './payments/repository.js';
import type { MandateService } from './mandates/service.js';
import { mandateRoutes } from './http/routes/mandates.js';

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
  /**
   * The facilitator our payments settle with (buildPaymentStack(...).facilitator): served to other
   * x402 servers under /facilitator when FACILITATOR_SERVE=true.
   */
  facilitator?: Facilitator;
  /** The channel pool /health reports (buildPaymentStack(...).channels); absent with an external facilitator. */
  channels?: ChannelPoolHealth;
  /**
   * Prometheus metrics; pass the instance given to buildPaymentStack so settlement, refunds and the
   * channel pool count too. Absent: the app makes its own (HTTP, details and wallet auth only).
   */
  metrics?: Metrics;
  /**
   * Authorizations, holds and spend controls (issue #13); built from the other deps when absent.
   * server.ts builds it to run the expiry sweep on the same service (buildSpendingService).
   */
  spending?: SpendingService;
  /** Serve the sandbox card network (/sandbox/*): only while the card issuer is the built-in sandbox issuer. */
  sandboxCardNetwork?: boolean;
  /** Mandates (issue 17): served when given (buildPaymentStack(...).mandates). */
  mandates?: MandateService | undefined;
}

/** The spending service for an app's deps (one per process: it owns the group-commit writer). */
export function buildSpendingService(deps: Pick<AppDeps, 'config' | 'db' | 'clock' | 'cardCipher'>): SpendingService {
  return new SpendingService({
    db: deps.db,
    clock: deps.clock,
    index: new CardNetworkIndex(deps.cardCipher),
    writer: new WriteBatcher(deps.db),
    holdMs: deps.config.spending.holdSeconds * 1000,
  });
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>(ROUTER_OPTIONS);
  const metrics = deps.metrics ?? new Metrics();
  app.use('*', requestId());
  app.use('*', requestMetrics(metrics));
  app.use('*', clientIp({ trustedProxyHops: deps.config.trustedProxyHops }));
  app.use('*', accessLog(deps.logger, deps.clock));
  app.use('*', securityHeaders());
  app.use('*', bodyLimit(deps.config.bodyLimitBytes));
  app.use('*', methodNotAllowed(app));

  app.route('/', publicRoutes(deps));
  const { config, db, clock } = deps;
  metrics.watchPayments(() => countPaymentsByKindAndStatus(db));
  if (config.metrics.serve) app.route('/', metricsRoutes({ metrics, token: config.metrics.token }));
  // One gate for every path card data leaves by: details, card session redemptions, secrets.
  const gate = new CardDataGate({
    cipher: deps.cardCipher,
    limits: {
      noncesPerWindow: config.details.noncesPerWindow,
      windowMs: config.details.windowSeconds * 1000,
      nonceRetentionMs: config.details.nonceRetentionSeconds * 1000,
    },
  });
  const cards = new CardManagementService({ db, clock, gate, metrics });
  const purgeSpentSlots = (nowMs: number) => cards.purgeSpentNonces(nowMs);
  const walletAuth = createWalletAuth({ config, db, clock, verifier: deps.signatureVerifier, onFailure: (code) => metrics.walletAuthFailure(code) });
  // Idempotency-Key on writes; request fingerprints are keyed with a key derived from the card data key.
  const idempotent = idempotency({ db, clock, fingerprintKey: deps.cardCipher.deriveKey('idempotency-fingerprint') });
  const spending = deps.spending ?? buildSpendingService(deps);
  app.route('/', cardRoutes({ cards, spending, ...walletAuth, idempotent }));
  app.route('/', cardDataRoutes({
    sessions: new CardSessionService({ db, clock, gate, tokens: deps.redeemTokens, purgeSpentSlots }),
    secrets: new SecretsSessionService({ db, clock, gate, cipher: deps.cardCipher, ttlMs: config.cardSessions.secretsSessionTtlMs, purgeSpentSlots }),
    ...walletAuth,
  }));
  app.route('/', cardControlsRoutes({ spending, authSingleUse: walletAuth.authSingleUse, idempotent }));
  const closing = new CardClosing({ db, clock, logger: deps.logger, refunds: deps.payments?.closureRefunds });
  app.route('/', closingRoutes({ closing, authSingleUse: walletAuth.authSingleUse, idempotent }));
  if (deps.sandboxCardNetwork) {
    app.route(
      '/',
      sandboxRoutes({
        spending,
        clock,
        idempotent,
        cardFailuresPerIp: config.spending.cardFailuresPerIp,
        cardFailureWindowMs: config.spending.cardFailureWindowSeconds * 1000,
      }),
    );
  }
  if (config.spending.issuerSecret) {
    app.route('/', issuerRoutes({ spending, clock, secret: config.spending.issuerSecret, maxSkewSeconds: config.spending.issuerMaxSkewSeconds }));
  }
  const webhooks = new WebhookService({
    db,
    clock,
    masterKey: deps.cardCipher.deriveKey('webhook-secrets'),
    allowPrivateAddresses: config.webhooks.allowPrivateAddresses,
    maxEndpointsPerWallet: config.webhooks.maxEndpointsPerWallet,
  });
  app.route('/', webhookRoutes({ webhooks, ...walletAuth }));
  if (deps.payments) app.route('/', paidRoutes({ config: deps.config, payments: deps.payments, authRead: walletAuth.authRead, authSingleUse: walletAuth.authSingleUse }));
  if (deps.mandates) app.route('/', mandateRoutes({ mandates: deps.mandates, clock, ...walletAuth }));
  if (deps.payments) app.route('/', ownerApprovalRoutes({ config, db, clock, payments: deps.payments, ...walletAuth }));

  if (config.facilitatorApi.serve) {
    if (!deps.facilitator) throw new Error('FACILITATOR_SERVE=true needs the payment stack\'s facilitator in createApp(deps)');
    app.route('/facilitator', facilitatorRoutes({ facilitator: deps.facilitator, network: config.stellar.network, apiKeys: config.facilitatorApi.apiKeys }));
  }

  app.route('/', docsRoutes({ app: () => app, version: VERSION, serverUrl: config.publicBaseUrl }));

  app.notFound((c) => errorResponse(c, new AppError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), deps.logger));
  app.onError((err, c) => errorResponse(c, err, deps.logger));
  return app;
}
