import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { createCardRequestSchema, fundCardRequestSchema } from './api.js';

/**
 * Payment requests (issue 16): the agent asks (`POST /payment-requests`, wallet-signed), the owner
 * approves and pays from a link, the agent polls `GET /payment-requests/:id`. Shared by the routes,
 * the SDK and the CLI, as protocol/api.ts is for the rest of the API.
 */

export const PAYMENT_REQUEST_STATUSES = ['pending', 'approved', 'completed', 'rejected', 'expired', 'failed'] as const;
export type PaymentRequestStatus = (typeof PAYMENT_REQUEST_STATUSES)[number];
/** Statuses after which nothing changes any more. */
export const FINAL_PAYMENT_REQUEST_STATUSES: readonly PaymentRequestStatus[] = ['completed', 'rejected', 'expired', 'failed'];

/** Payment request ids: `pr_` and 32 hex digits (128 random bits). */
export const PAYMENT_REQUEST_ID = /^pr_[0-9a-f]{32}$/;
/** Approval tokens: 32 random bytes, base64url. */
export const APPROVAL_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const address = z.string().refine((v) => StrKey.isValidEd25519PublicKey(v), 'expected a Stellar account address (G...)');
/** Dollars as text or number ("25", 25, "25.50"); pricing decides whether the amount is valid. */
const amount = z.union([z.string().trim().min(1).max(16), z.number().finite().nonnegative()]).transform(String);
const note = z
  .string()
  .trim()
  .max(280)
  .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'note must be printable text (no control characters)');

const common = { amount, ownerAddress: address.optional(), note: note.optional() };

export const createPaymentRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('create'), ...common, nameOnCard: createCardRequestSchema.shape.nameOnCard, email: createCardRequestSchema.shape.email }).strict(),
  z.object({ kind: z.literal('fund'), ...common, cardId: fundCardRequestSchema.shape.cardId }).strict(),
]);
export type CreatePaymentRequest = z.input<typeof createPaymentRequestSchema>;

/** The quoted price: exactly what the owner pays. */
export const quotedPriceSchema = z.object({
  amountAtomic: z.string(),
  /** USDC, decimal text (7 decimals at most). */
  amount: z.string(),
  totalCents: z.number().int(),
  loadCents: z.number().int(),
  cardFeeCents: z.number().int(),
  topUpFeeCents: z.number().int(),
  currency: z.literal('USDC'),
});
export type QuotedPrice = z.infer<typeof quotedPriceSchema>;

export const createdPaymentRequestSchema = z.object({
  id: z.string(),
  status: z.literal('approval_required'),
  kind: z.enum(['create', 'fund']),
  price: quotedPriceSchema,
  approvalUrl: z.string(),
  expiresAt: z.string(),
});
export type CreatedPaymentRequest = z.infer<typeof createdPaymentRequestSchema>;

/** What the request is for: a new card (name, email) or a top-up of a card. */
export const requestedSchema = z.union([
  z.object({ nameOnCard: z.string(), email: z.string() }),
  z.object({ cardId: z.string() }),
]);

/** A card as the agent sees it once the request is completed: a summary, never its data. */
export const requestCardSchema = z.object({
  cardId: z.string(),
  nameOnCard: z.string(),
  lastFour: z.string(),
  balance: z.number(),
  balanceCents: z.number().int(),
  status: z.string(),
  ownerAddress: z.string(),
});

/** `GET /payment-requests/:id` (the agent that asked). */
export const paymentRequestViewSchema = z.object({
  id: z.string(),
  kind: z.enum(['create', 'fund']),
  status: z.enum(PAYMENT_REQUEST_STATUSES),
  agentAddress: z.string(),
  ownerAddress: z.string().nullable(),
  approverAddress: z.string().nullable(),
  price: quotedPriceSchema,
  requested: requestedSchema,
  note: z.string().nullable(),
  paymentId: z.string().nullable(),
  paymentStatus: z.string().nullable(),
  txHash: z.string().nullable(),
  refundTxHash: z.string().nullable(),
  cardId: z.string().nullable(),
  card: requestCardSchema.nullable(),
  expiresAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type PaymentRequestView = z.infer<typeof paymentRequestViewSchema>;

/** `GET /payment-requests/:id/approval?token=…`: what the owner reviews (the approval page shows the same). */
export const approvalViewSchema = z.object({
  id: z.string(),
  kind: z.enum(['create', 'fund']),
  status: z.enum(PAYMENT_REQUEST_STATUSES),
  agentAddress: z.string(),
  ownerAddress: z.string().nullable(),
  price: quotedPriceSchema,
  /** Where the USDC goes: card402's treasury, on this network and asset. */
  payTo: z.string(),
  network: z.string(),
  asset: z.string(),
  requested: requestedSchema,
  note: z.string().nullable(),
  cardId: z.string().nullable(),
  txHash: z.string().nullable(),
  refundTxHash: z.string().nullable(),
  expiresAt: z.string(),
});
export type ApprovalView = z.infer<typeof approvalViewSchema>;

/** `POST /payment-requests/:id/approval`: the owner's answer (approve carries an x402 payment header). */
export const approvalAnswerSchema = z.object({ action: z.enum(['approve', 'reject']), token: z.string().regex(APPROVAL_TOKEN, 'malformed token') });
export type ApprovalAnswer = z.infer<typeof approvalAnswerSchema>;

/** `POST /payment-requests/:id/approval/prepare`: the unsigned transfer a browser wallet signs. */
export const approvalPrepareRequestSchema = z.object({ token: z.string().regex(APPROVAL_TOKEN, 'malformed token'), payer: address });
export const approvalPreparedSchema = z.object({
  /** The x402 PaymentRequired the payment answers (its `accepts[0]` is the exact requirement). */
  paymentRequired: z.record(z.string(), z.unknown()),
  /** The simulated transfer (placeholder source, resources set); its auth entries are unsigned. */
  transaction: z.string(),
  networkPassphrase: z.string(),
  /** The ledger the signed auth entry may be used until. */
  expirationLedger: z.number().int(),
});
export type ApprovalPrepared = z.infer<typeof approvalPreparedSchema>;

/** The answer to an approval or rejection: the request's status afterwards. */
export const approvalResultSchema = z.object({
  success: z.boolean(),
  id: z.string(),
  status: z.enum(PAYMENT_REQUEST_STATUSES),
  cardId: z.string().nullable().optional(),
  payment: z.object({ amountCharged: z.number(), txHash: z.string().nullable(), network: z.string(), paymentId: z.string() }).optional(),
});
export type ApprovalResult = z.infer<typeof approvalResultSchema>;

/** The parts of an approval URL (`<origin>/approve/<id>?token=<token>`), or undefined. */
export function parseApprovalUrl(url: string): { origin: string; id: string; token: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const match = /^\/approve\/(pr_[0-9a-f]{32})\/?$/.exec(parsed.pathname);
  const token = parsed.searchParams.get('token') ?? '';
  if (!match || !APPROVAL_TOKEN.test(token)) return undefined;
  return { origin: parsed.origin, id: match[1]!, token };
}
