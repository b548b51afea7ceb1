import { z } from 'zod';

/** x402 protocol version this server speaks (v2: PAYMENT-REQUIRED / PAYMENT-SIGNATURE / PAYMENT-RESPONSE). */
export const X402_VERSION = 2;
export const EXACT_SCHEME = 'exact';

export interface PaymentRequirements {
  scheme: 'exact';
  network: string;
  /** Atomic units of `asset`, as a decimal string. */
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { areFeesSponsored: true };
}

export interface ResourceInfo {
  url: string;
  description: string;
  mimeType: string;
}

export interface PaymentRequired {
  x402Version: typeof X402_VERSION;
  /** Why payment is required: `payment required`, or a standard x402 error code (x402/error-codes.ts). */
  error: string;
  /** card402's detailed reason beside the standard code (e.g. `wrong_amount`, `settlement_failed`). */
  reason?: string;
  resource: ResourceInfo;
  accepts: PaymentRequirements[];
}

const requirementsSchema = z.object({
  scheme: z.string(),
  network: z.string(),
  amount: z.string(),
  asset: z.string(),
  payTo: z.string(),
  maxTimeoutSeconds: z.number(),
  extra: z.record(z.string(), z.unknown()).nullish(),
});

/** What a client sends, parsed loosely: every semantic check happens in verify.ts. */
export const paymentPayloadSchema = z.object({
  x402Version: z.number(),
  resource: z.unknown().optional(),
  accepted: requirementsSchema,
  payload: z.object({ transaction: z.string().min(1).max(64 * 1024) }),
  extensions: z.unknown().optional(),
});
export type PaymentPayload = z.infer<typeof paymentPayloadSchema>;

/**
 * PaymentRequirements as a client reads them from a 402 it must not trust: the same fields,
 * loosely typed (the client checks every value before it signs anything).
 */
export type OfferedRequirements = PaymentPayload['accepted'];

/** A PaymentRequired as a client reads it: ours is one, and so is any other server's. */
export interface OfferedPaymentRequired {
  x402Version: number;
  error?: string;
  resource: { url: string; description?: string; mimeType?: string };
  accepts: OfferedRequirements[];
}

/** Body of PAYMENT-RESPONSE. */
export interface SettlementResponse {
  success: boolean;
  transaction: string;
  network: string;
  payer: string;
  errorReason?: string;
}
