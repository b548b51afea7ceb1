import { z } from 'zod';

/**
 * The x402 v2 shapes as the document shows them (docs only: the server builds these in
 * x402/challenge.ts and parses payments with protocol/x402.ts's schemas).
 */
export const paymentRequirementsDocSchema = z.object({
  scheme: z.literal('exact'),
  network: z.string().describe('CAIP-2 network, e.g. stellar:testnet'),
  amount: z.string().describe('atomic USDC units (7 decimals), decimal string'),
  asset: z.string().describe('the USDC Stellar Asset Contract id (C...)'),
  payTo: z.string().describe('the account paid (G...)'),
  maxTimeoutSeconds: z.number().int(),
  extra: z.object({ areFeesSponsored: z.literal(true) }),
});

export const paymentRequiredDocSchema = z
  .object({
    x402Version: z.literal(2),
    error: z.string().describe('"payment required", or a standard x402 error code'),
    reason: z.string().optional().describe("card402's detailed reason (e.g. wrong_amount)"),
    resource: z.object({ url: z.string(), description: z.string(), mimeType: z.string() }),
    accepts: z.array(paymentRequirementsDocSchema),
  })
  .describe('x402 v2 PaymentRequired: also sent base64-encoded in the PAYMENT-REQUIRED header');

export const settlementResponseDocSchema = z.object({
  success: z.boolean(),
  transaction: z.string(),
  network: z.string(),
  payer: z.string(),
});

export const facilitatorRequestDocSchema = z.object({
  x402Version: z.literal(2),
  paymentPayload: z.object({
    x402Version: z.number().int(),
    resource: z.unknown().optional(),
    accepted: paymentRequirementsDocSchema,
    payload: z.object({ transaction: z.string().describe('base64 XDR of the payer-signed transaction') }),
    extensions: z.unknown().optional(),
  }),
  paymentRequirements: paymentRequirementsDocSchema,
});

export const facilitatorSupportedDocSchema = z.object({
  kinds: z.array(z.object({ x402Version: z.literal(2), scheme: z.literal('exact'), network: z.string(), extra: z.record(z.string(), z.unknown()).optional() })),
  extensions: z.array(z.string()),
  signers: z.record(z.string(), z.array(z.string())),
});

export const facilitatorVerifyDocSchema = z.object({
  isValid: z.boolean(),
  payer: z.string().optional(),
  invalidReason: z.string().optional().describe('standard x402 error code'),
  invalidMessage: z.string().optional().describe("card402's detailed reason"),
});

export const facilitatorSettleDocSchema = z.object({
  success: z.boolean(),
  transaction: z.string(),
  network: z.string(),
  payer: z.string().optional(),
  errorReason: z.string().optional().describe('standard x402 error code; settlement_pending: the transaction may still land'),
  errorMessage: z.string().optional(),
});

/** `GET /supported`: what this server accepts as payment. */
export const supportedDocSchema = z.object({
  kinds: z.array(paymentRequirementsDocSchema.omit({ amount: true }).extend({ x402Version: z.literal(2) })),
});
