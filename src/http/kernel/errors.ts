import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The closed set of error codes card402 answers with. Each maps to exactly one HTTP status in
 * STATUS_BY_CODE; `app.onError` is the only place an AppError becomes a response.
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
