import { LEGACY_PAYMENT_HEADER, PAYMENT_SIGNATURE_HEADER } from '../../src/protocol/x402-codec.js';
import { createExactPayment, encodePayment, readPaymentRequired, type PayerOptions } from '../../src/client/x402-payer.js';
import { deviate, type PaymentOverrides } from './payments.js';
import type { PaymentPayload } from '../../src/protocol/x402.js';

export interface PaidResponse {
  response: Response;
  /** Undefined when the server did not ask for payment. */
  payment?: PaymentPayload;
}

/**
 * Test and benchmark only (the SDK pays through Card402Client). Makes the request; on 402 pays and repeats it once with the payment in PAYMENT-SIGNATURE (or
 * X-PAYMENT when `legacyHeader`). `doFetch` may be global fetch or an in-process app.request.
 */
export async function payAndFetch(
  doFetch: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  init: RequestInit,
  opts: PayerOptions & { legacyHeader?: boolean; overrides?: PaymentOverrides },
): Promise<PaidResponse> {
  const first = await doFetch(url, init);
  if (first.status !== 402) return { response: first };
  const required = await readPaymentRequired(first);
  const payment = await deviate(await createExactPayment(required, opts), opts.keypair, opts.overrides ?? {});
  const headers = new Headers(init.headers);
  headers.set(opts.legacyHeader ? LEGACY_PAYMENT_HEADER : PAYMENT_SIGNATURE_HEADER, encodePayment(payment));
  const response = await doFetch(url, { ...init, headers });
  return { response, payment };
}
