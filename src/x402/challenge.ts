import { x402ErrorCode } from './error-codes.js';
import { EXACT_SCHEME, X402_VERSION, type PaymentRequired, type PaymentRequirements } from '../protocol/x402.js';

/** What this server accepts as payment (everything but the amount, which each request prices). */
export interface PaymentTerms {
  network: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
}

export function buildRequirements(terms: PaymentTerms, amountAtomic: bigint): PaymentRequirements {
  if (amountAtomic <= 0n) throw new RangeError('a payment requirement must ask for a positive amount');
  return {
    scheme: EXACT_SCHEME,
    network: terms.network,
    amount: amountAtomic.toString(),
    asset: terms.asset,
    payTo: terms.payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds,
    extra: { areFeesSponsored: true },
  };
}

/** The one place a 402 body is built; the same object goes base64 into PAYMENT-REQUIRED. */
export function buildPaymentRequired(args: {
  resourceUrl: string;
  description: string;
  requirements: PaymentRequirements;
  /** Why: absent for a first challenge, else our detailed reason (sent beside its standard x402 code). */
  reason?: string | undefined;
}): PaymentRequired {
  return {
    x402Version: X402_VERSION,
    ...(args.reason === undefined ? { error: 'payment required' } : { error: x402ErrorCode(args.reason), reason: args.reason }),
    resource: { url: args.resourceUrl, description: args.description, mimeType: 'application/json' },
    accepts: [args.requirements],
  };
}
