import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DomainError, type AnyDomainError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { PAYMENT_RESPONSE_HEADER, encodeJsonHeader } from '../../protocol/x402-codec.js';
import type { AppEnv } from './env.js';

/**
 * The closed set of error codes card402 answers with. Each maps to exactly one HTTP status in
 * STATUS_BY_CODE. Handlers and middleware throw AppError, services throw DomainError
 * (src/errors.ts); `errorResponse` below, called from `app.onError` and `app.notFound`, is the only
 * place either becomes a response.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_JSON',
  'VALIDATION_ERROR',
  'INVALID_AMOUNT',
  'UNAUTHORIZED',
  'PAYMENT_REQUIRED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'BAD_GATEWAY',
  'SERVICE_UNAVAILABLE',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
  // Wallet-signed requests (DESIGN §6) and card details (§7).
  'AUTH_MALFORMED',
  'AUTH_SIGNATURE_INVALID',
  'AUTH_EXPIRED',
  'AUTH_REPLAYED',
  'AUTH_RATE_LIMITED',
  'CARD_NOT_FOUND',
  'DETAILS_REVOKED',
  'OWNER_ONLY',
  'INVALID_NONCE',
  'REPLAY_REJECTED',
  'DETAILS_RATE_LIMITED',
  'PAYMENT_IN_PROGRESS',
  'FULFILMENT_FAILED',
  'PAYMENT_UNDER_REVIEW',
  // Idempotent writes (docs/ARCHITECTURE.md, "Idempotent writes").
  'IDEMPOTENCY_KEY_INVALID',
  'IDEMPOTENCY_KEY_MISMATCH',
  'IDEMPOTENCY_KEY_IN_USE',
  // Payment requests (issue 16).
  'PAYMENT_REQUEST_NOT_FOUND',
  'PAYMENT_REQUEST_CLOSED',
  'WRONG_PAYER',
  // Closing a card (docs/ARCHITECTURE.md, "Closing a card").
  'CARD_CLOSED',
  // Cards that spend (issue #13).
  'AUTHORIZATION_NOT_FOUND',
  'AUTHORIZATION_STATE',
  'ISSUER_SIGNATURE_INVALID',
  // Card data paths (issue #14): card sessions, sealed details, secrets sessions.
  'CARD_NOT_ACTIVE',
  'CARD_SESSION_NOT_FOUND',
  'CARD_SESSION_NOT_REDEEMABLE',
  'SCOPED_TOKEN_MISSING',
  'SCOPED_TOKEN_INVALID',
  'SCOPED_TOKEN_SCOPE_MISMATCH',
  'INVALID_AGENT_PUBKEY',
  'SECRETS_SESSION_NOT_FOUND',
  'SECRETS_SESSION_NOT_USABLE',
  // Mandates (issue 17).
  'MANDATE_NOT_FOUND',
  'MANDATE_NOT_ACTIVE',
  'MANDATE_RULE_EXCEEDED',
  'MANDATE_ALLOWANCE_EXHAUSTED',
  'MANDATE_REVOKED',
  'MANDATE_OWNER_FUNDS',
  'INVALID_AUTH_ENTRY',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const STATUS_BY_CODE = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_ERROR: 400,
  INVALID_AMOUNT: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  BAD_GATEWAY: 502,
  SERVICE_UNAVAILABLE: 503,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  AUTH_MALFORMED: 400,
  AUTH_SIGNATURE_INVALID: 401,
  AUTH_EXPIRED: 401,
  AUTH_REPLAYED: 401,
  AUTH_RATE_LIMITED: 429,
  CARD_NOT_FOUND: 404,
  DETAILS_REVOKED: 403,
  OWNER_ONLY: 403,
  INVALID_NONCE: 400,
  REPLAY_REJECTED: 409,
  DETAILS_RATE_LIMITED: 429,
  PAYMENT_IN_PROGRESS: 409,
  FULFILMENT_FAILED: 502,
  PAYMENT_UNDER_REVIEW: 409,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_MISMATCH: 422,
  IDEMPOTENCY_KEY_IN_USE: 409,
  PAYMENT_REQUEST_NOT_FOUND: 404,
  PAYMENT_REQUEST_CLOSED: 409,
  WRONG_PAYER: 403,
  CARD_CLOSED: 409,
  AUTHORIZATION_NOT_FOUND: 404,
  AUTHORIZATION_STATE: 409,
  ISSUER_SIGNATURE_INVALID: 401,
  CARD_NOT_ACTIVE: 409,
  CARD_SESSION_NOT_FOUND: 404,
  CARD_SESSION_NOT_REDEEMABLE: 409,
  SCOPED_TOKEN_MISSING: 401,
  SCOPED_TOKEN_INVALID: 401,
  SCOPED_TOKEN_SCOPE_MISMATCH: 403,
  INVALID_AGENT_PUBKEY: 400,
  SECRETS_SESSION_NOT_FOUND: 404,
  SECRETS_SESSION_NOT_USABLE: 409,
  MANDATE_NOT_FOUND: 404,
  MANDATE_NOT_ACTIVE: 403,
  MANDATE_RULE_EXCEEDED: 403,
  MANDATE_ALLOWANCE_EXHAUSTED: 403,
  MANDATE_REVOKED: 403,
  MANDATE_OWNER_FUNDS: 403,
  INVALID_AUTH_ENTRY: 400,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

export interface AppErrorOptions {
  /** Extra top-level fields for the JSON body (must never hold secrets). */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** A client-facing failure: its message is shown to the caller as-is, so keep internals out. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: AppErrorOptions = {},
  ) {
    super(message);
  }
  get status(): ContentfulStatusCode {
    return STATUS_BY_CODE[this.code];
  }
}

/**
 * The client closed the connection before its request (body) arrived whole. Nobody is left to
 * answer, so this is not an AppError: `app.onError` records it as status 499 (nginx's "client
 * closed request") in the access log, at info level, and logs no error, since any client can
 * cause one at will.
 */
export class RequestAbortedError extends Error {
  override name = 'RequestAbortedError';
  constructor(options?: { cause?: unknown }) {
    super('the client closed the connection before its request arrived', options);
  }
}

/** Status recorded for a RequestAbortedError; no client ever receives it. */
export const CLIENT_CLOSED_REQUEST_STATUS = 499;

export function errorBody(error: AppError): Record<string, unknown> {
  return { error: error.message, code: error.code, ...error.options.extra };
}

const retryAfter = (seconds: number) => ({ headers: { 'Retry-After': String(seconds) } });

/** The API's answer to each service refusal: one case per DomainError code, checked exhaustively. */
export function domainErrorToAppError(err: AnyDomainError): AppError {
  const { message } = err;
  switch (err.code) {
    case 'card_not_found':
      return new AppError('CARD_NOT_FOUND', message);
    case 'owner_only':
      return new AppError('OWNER_ONLY', message);
    case 'details_revoked':
      return new AppError('DETAILS_REVOKED', message);
    case 'card_closed':
      return new AppError('CARD_CLOSED', message);
    case 'invalid_nonce':
      return new AppError('INVALID_NONCE', message);
    case 'nonce_replayed':
      return new AppError('REPLAY_REJECTED', message);
    case 'details_rate_limited': {
      const seconds = err.details.retryAfterSeconds;
      return new AppError('DETAILS_RATE_LIMITED', message, { ...retryAfter(seconds), extra: { retryAfter: seconds } });
    }
    case 'role_required':
      return new AppError('OWNER_ONLY', message, { extra: { requiredRole: err.details.requiredRole, fields: err.details.fields } });
    case 'authorization_not_found':
      return new AppError('AUTHORIZATION_NOT_FOUND', message);
    case 'authorization_state':
      return new AppError('AUTHORIZATION_STATE', message, { extra: { state: err.details.state } });
    case 'amount_too_large':
      return new AppError('INVALID_AMOUNT', message, { extra: { field: err.details.field, maxCents: err.details.maxCents } });
    case 'card_not_active':
      return new AppError('CARD_NOT_ACTIVE', message);
    case 'card_session_not_found':
      return new AppError('CARD_SESSION_NOT_FOUND', message);
    case 'card_session_not_redeemable':
      return new AppError('CARD_SESSION_NOT_REDEEMABLE', message, { extra: { status: err.details.status } });
    case 'scoped_token_invalid':
      return new AppError('SCOPED_TOKEN_INVALID', message);
    case 'scoped_token_scope_mismatch':
      return new AppError('SCOPED_TOKEN_SCOPE_MISMATCH', message);
    case 'secrets_session_not_found':
      return new AppError('SECRETS_SESSION_NOT_FOUND', message);
    case 'secrets_session_not_usable':
      return new AppError('SECRETS_SESSION_NOT_USABLE', message, { extra: { status: err.details.status } });
    case 'card_to_fund_not_found':
      return new AppError('NOT_FOUND', message);
    case 'provider_capacity':
    case 'network_unavailable': {
      const seconds = err.details.retryAfterSeconds;
      return new AppError('SERVICE_UNAVAILABLE', message, { ...retryAfter(seconds), extra: { reason: err.code, retryAfter: seconds } });
    }
    case 'idempotency_conflict':
    case 'purchase_unavailable':
      return new AppError('CONFLICT', message);
    case 'webhook_not_found':
      return new AppError('NOT_FOUND', message);
    case 'webhook_url_refused':
      return new AppError('VALIDATION_ERROR', message);
    case 'webhook_limit_reached':
      return new AppError('CONFLICT', message, { extra: { max: err.details.max } });
    case 'payment_request_not_found':
      return new AppError('PAYMENT_REQUEST_NOT_FOUND', message);
    case 'payment_request_closed':
      return new AppError('PAYMENT_REQUEST_CLOSED', message, { extra: { status: err.details.status } });
    case 'payment_request_wrong_payer':
      return new AppError('WRONG_PAYER', message);
    case 'payment_request_unpayable':
      return new AppError('BAD_REQUEST', message);
    case 'payment_in_progress': {
      const { paymentId, retryAfterSeconds: seconds } = err.details;
      return new AppError('PAYMENT_IN_PROGRESS', message, { ...retryAfter(seconds), extra: { paymentId, retryAfter: seconds } });
    }
    case 'payment_under_review':
      return new AppError('PAYMENT_UNDER_REVIEW', message, { extra: { paymentId: err.details.paymentId } });
    case 'fulfilment_failed': {
      const { paymentId, status, settlement, refundTxHash } = err.details;
      return new AppError('FULFILMENT_FAILED', message, {
        extra: { paymentId, status, ...(refundTxHash ? { refundTxHash } : {}) },
        // The payer's money moved: the x402 settlement header says so even though no card came back.
        headers: settlement ? { [PAYMENT_RESPONSE_HEADER]: encodeJsonHeader(settlement) } : {},
      });
    }
    case 'mandate_not_found':
      return new AppError('MANDATE_NOT_FOUND', message);
    case 'mandate_not_active':
      return new AppError('MANDATE_NOT_ACTIVE', message, { extra: { phase: err.details.phase } });
    case 'mandate_rule_exceeded':
      return new AppError('MANDATE_RULE_EXCEEDED', message, { extra: { period: err.details.period, remaining: err.details.remaining } });
    case 'mandate_allowance_exhausted':
      return new AppError('MANDATE_ALLOWANCE_EXHAUSTED', message);
    case 'mandate_revoked':
      return new AppError('MANDATE_REVOKED', message);
    case 'mandate_owner_funds':
      return new AppError('MANDATE_OWNER_FUNDS', message);
    case 'invalid_auth_entry':
      return new AppError('INVALID_AUTH_ENTRY', message, { extra: { reason: err.details.reason } });
  }
}

/** Anything thrown, as the AppError the caller sees; unexpected errors are logged, never shown. */
function toAppError(err: unknown, c: Context<AppEnv>, logger: Logger): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof DomainError) return domainErrorToAppError(err as AnyDomainError);
  if (err instanceof HTTPException) {
    if (err.status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'request body is too large');
    if (err.status === 400) return new AppError('BAD_REQUEST', 'malformed request');
  }
  logger.error('unhandled error', { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, err });
  return new AppError('INTERNAL_ERROR', 'internal server error', { extra: { requestId: c.get('requestId') } });
}

/**
 * The one place an error becomes a response: `{error, code, ...extra}` JSON with its status and
 * headers. A client that hangs up mid-request is not a server fault: no error line, no 5xx; the
 * access log records it at info level as 499, and the response goes nowhere.
 */
export function errorResponse(c: Context<AppEnv>, err: unknown, logger: Logger): Response {
  if (err instanceof RequestAbortedError) return new Response(null, { status: CLIENT_CLOSED_REQUEST_STATUS });
  const error = toAppError(err, c, logger);
  for (const [name, value] of Object.entries(error.options.headers ?? {})) c.header(name, value);
  return c.json(errorBody(error), error.status);
}
