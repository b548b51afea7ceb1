/** Typed failures of the card402 SDK. None of them ever carries a secret key or payment payload. */

export class Card402Error extends Error {
  override name = 'Card402Error';
}

/** The API answered with a non-success status. */
export class ApiError extends Card402Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    message = describeApiError(status, body),
  ) {
    super(message);
  }
  get code(): string | undefined {
    return isRecord(this.body) && typeof this.body.code === 'string' ? this.body.code : undefined;
  }
}

export type PaymentRefusalReason =
  | 'no_supported_requirement'
  | 'wrong_network'
  | 'wrong_asset'
  | 'amount_mismatch'
  | 'unexpected_pay_to'
  | 'over_payment_limit'
  | 'over_spend_cap'
  | 'malformed_challenge';

/** The client refused to sign: the 402 asked for something other than what this call should cost. */
export class PaymentRefusedError extends Card402Error {
  override name = 'PaymentRefusedError';
  constructor(
    readonly reason: PaymentRefusalReason,
    message: string,
  ) {
    super(`payment refused (${reason}): ${message}`);
  }
}

/** The wallet does not hold enough USDC (or XLM for an account) to pay. */
export class InsufficientBalanceError extends Card402Error {
  override name = 'InsufficientBalanceError';
  constructor(
    readonly neededAtomic: bigint,
    readonly availableAtomic: bigint | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A payment was made (or may have been) but the purchase did not complete. Quote paymentId/txHash. */
export class PaymentError extends Card402Error {
  override name = 'PaymentError';
  constructor(
    message: string,
    readonly details: { paymentId?: string; txHash?: string; status?: number; body?: unknown } = {},
  ) {
    super(message);
  }
}

export class TimeoutError extends Card402Error {
  override name = 'TimeoutError';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeApiError(status: number, body: unknown): string {
  const text = isRecord(body) && typeof body.error === 'string' ? body.error : 'request failed';
  const code = isRecord(body) && typeof body.code === 'string' ? ` [${body.code}]` : '';
  return `HTTP ${status}${code}: ${text}`;
}
