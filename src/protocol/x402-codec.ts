import { paymentPayloadSchema, type PaymentPayload } from './x402.js';

/** Header names, as the x402 v2 transport and ASG clients use them. */
export const PAYMENT_REQUIRED_HEADER = 'PAYMENT-REQUIRED';
export const PAYMENT_SIGNATURE_HEADER = 'PAYMENT-SIGNATURE';
export const LEGACY_PAYMENT_HEADER = 'X-PAYMENT';
export const PAYMENT_RESPONSE_HEADER = 'PAYMENT-RESPONSE';

export const MAX_PAYMENT_HEADER_BYTES = 96 * 1024;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

export function encodeJsonHeader(value: unknown): string {
  return encodeJsonTextHeader(JSON.stringify(value));
}

/** encodeJsonHeader for JSON already serialised (when the same text is also the body). */
export function encodeJsonTextHeader(json: string): string {
  return Buffer.from(json, 'utf8').toString('base64');
}

export type DecodedPayment = { ok: true; payload: PaymentPayload } | { ok: false; reason: 'invalid_payment_header' };

/** Accepts base64 JSON (the standard) or raw JSON; anything else is `invalid_payment_header`. */
export function decodePaymentHeader(header: string): DecodedPayment {
  const text = header.trim();
  if (text.length === 0 || text.length > MAX_PAYMENT_HEADER_BYTES) return { ok: false, reason: 'invalid_payment_header' };
  let json: string;
  if (text.startsWith('{')) {
    json = text;
  } else {
    if (!BASE64.test(text)) return { ok: false, reason: 'invalid_payment_header' };
    json = Buffer.from(text, 'base64').toString('utf8');
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, reason: 'invalid_payment_header' };
  }
  const parsed = paymentPayloadSchema.safeParse(value);
  return parsed.success ? { ok: true, payload: parsed.data } : { ok: false, reason: 'invalid_payment_header' };
}

export function decodeJsonHeader<T>(header: string): T {
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as T;
}
