import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { parseDollarsToCents } from './money/units.js';

/**
 * Mandates (issue 17), the request and response bodies shared by the routes and the SDK: an owner
 * approves card402's mandate account for a USDC allowance on-chain (SEP-41 `approve`), and the
 * agent buys cards within the mandate's rules without asking each time.
 */

/** The header that names the mandate a wallet-signed purchase spends from (instead of an x402 payment). */
export const MANDATE_ID_HEADER = 'X-MANDATE-ID';

export const MANDATE_PERIODS = ['weekly', 'monthly', 'yearly', 'total'] as const;
export type MandatePeriod = (typeof MANDATE_PERIODS)[number];
export const MANDATE_PHASES = ['requires-verification', 'active', 'revoked', 'expired'] as const;

/** A mandate lives 7 days unless its request says otherwise (as Crossmint's order intents). */
export const DEFAULT_MANDATE_SECONDS = 7 * 24 * 3600;
/** At most ~180 days: an allowance cannot outlive the network's maximum entry TTL (3,110,400 ledgers of 5 s). */
export const MAX_MANDATE_SECONDS = 180 * 24 * 3600;

const MANDATE_ID = /^md_[a-z2-7]{26}$/;
export const isMandateId = (v: string): boolean => MANDATE_ID.test(v);

const gAddress = z
  .string()
  .trim()
  .refine((v) => StrKey.isValidEd25519PublicKey(v), 'expected a Stellar account address (G...)');

const dollars = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const cents = parseDollarsToCents(typeof v === 'number' ? String(v) : v.trim());
    if (cents === null || cents <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected a positive dollar amount with at most two decimals' });
      return z.NEVER;
    }
    return cents;
  });

export const mandateRuleSchema = z.object({ amount: dollars, period: z.enum(MANDATE_PERIODS) });

export const createMandateRequestSchema = z.object({
  ownerAddress: gAddress,
  rules: z
    .array(mandateRuleSchema)
    .min(1)
    .max(MANDATE_PERIODS.length)
    .refine((rules) => new Set(rules.map((r) => r.period)).size === rules.length, 'at most one rule per period'),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  note: z.string().trim().max(280).optional(),
});
export type CreateMandateRequest = z.input<typeof createMandateRequestSchema>;

export const mandateRuleViewSchema = z.object({
  period: z.enum(MANDATE_PERIODS),
  amount: z.string(), // dollars, "100.00"
  spent: z.string(), // dollars spent in the current period (refunded purchases excluded)
  remaining: z.string(),
  periodStart: z.string().nullable(), // ISO; null for `total`
  periodEnd: z.string().nullable(),
});

export const mandateSchema = z.object({
  id: z.string(),
  phase: z.enum(MANDATE_PHASES),
  agentAddress: z.string(),
  ownerAddress: z.string(),
  spender: z.string(),
  asset: z.string(),
  network: z.string(),
  rules: z.array(mandateRuleViewSchema),
  note: z.string().nullable(),
  allowance: z.string(), // dollars the owner approves on-chain
  allowanceAtomic: z.string(),
  /** On-chain `allowance(owner, spender)` now (atomic), or null when the ledger could not be read. */
  allowanceLeftAtomic: z.string().nullable(),
  allowanceLeft: z.string().nullable(),
  liveUntilLedger: z.number().nullable(),
  approvalUrl: z.string(),
  approveTxHash: z.string().nullable(),
  revokeTxHash: z.string().nullable(),
  endReason: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type MandateView = z.infer<typeof mandateSchema>;

/** What the owner signs: the authorization entry of `approve(from, spender, amount, liveUntilLedger)` on `contract`. */
export const mandateApprovalSchema = z.object({
  mandateId: z.string(),
  network: z.string(),
  networkPassphrase: z.string(),
  contract: z.string(),
  function: z.literal('approve'),
  from: z.string(),
  spender: z.string(),
  amountAtomic: z.string(),
  liveUntilLedger: z.number().int(),
  latestLedger: z.number().int(),
});
export type MandateApproval = z.infer<typeof mandateApprovalSchema>;

/** A signed SorobanAuthorizationEntry, base64 XDR. */
export const signedAuthEntrySchema = z.object({ authEntry: z.string().min(1).max(8192) });
export const revokeMandateRequestSchema = z.object({ authEntry: z.string().min(1).max(8192).optional() });
