import { StrKey } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { cardControlsSchema, DECLINE_REASONS, merchantSchema } from './spending.js';
import { sealedBoxSchema } from './sealed.js';

/**
 * The card402 API's request and response bodies, as zod schemas: the routes validate requests
 * with them and shape their answers to them, the SDK parses answers with them. Dollar amounts are
 * JSON numbers (ASG-compatible) with integer twins in cents where the server sends them; atomic
 * USDC amounts are decimal strings. Response objects are parsed without their unknown keys, so an
 * older SDK ignores fields a newer server adds.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Card, payment and ledger-entry ids are UUIDs. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

// --- requests: POST /cards/create/tier/:amount and /cards/fund/tier/:amount ---

export const createCardRequestSchema = z.object({
  // Printable text only: the name goes to the card provider and is shown to the owner wallet, so
  // no control or invisible formatting characters (terminal escapes, NUL, bidi overrides).
  nameOnCard: z.string().trim().min(1).max(64).regex(/^[^\p{Cc}\p{Cf}]*$/u, 'nameOnCard must be printable text (no control characters)'),
  email: z.email().max(254),
  ownerAddress: z
    .string()
    .refine((v) => StrKey.isValidEd25519PublicKey(v), 'expected a Stellar account address (G...)')
    .optional(),
});
/** What a client sends; the server works with the parsed form (`nameOnCard` trimmed). */
export type CreateCardRequest = z.input<typeof createCardRequestSchema>;

export const fundCardRequestSchema = z.object({
  cardId: z.string().regex(UUID, 'expected a card id (UUID)'),
});
export type FundCardRequest = z.input<typeof fundCardRequestSchema>;

// --- public ---

export const healthSchema = z.object({
  status: z.string(),
  timestamp: z.string(),
  version: z.string(),
  unixTime: z.number().int(),
  /** Payments held for a person to decide (docs/ARCHITECTURE.md, "What proves a payment"). */
  paymentsNeedingReview: z.number().int(),
  /**
   * The channel accounts settling payments, as this instance sees them (absent with an external
   * facilitator): `available` idle here, `leased` sending (or held a ledger after an unconfirmed
   * send), `low` below CHANNEL_LOW_XLM (or missing) at the last balance check.
   */
  channels: z
    .object({ total: z.number().int(), available: z.number().int(), leased: z.number().int(), low: z.number().int() })
    .optional(),
});
export type Health = z.infer<typeof healthSchema>;

export const priceQuoteSchema = z.object({
  loadAmount: z.number(),
  cardFee: z.number(),
  topUpFee: z.number(),
  totalCost: z.number(),
  totalAtomic: z.string(),
  endpoint: z.string(),
});
export type PriceQuote = z.infer<typeof priceQuoteSchema>;

/** `GET /pricing` and `GET /cards/tiers`. */
export const pricingSchema = z.object({
  cardFee: z.number(),
  topUpPercent: z.number(),
  minAmount: z.number(),
  maxAmount: z.number(),
  currency: z.string(),
  asset: z.string(),
  cardFeeCents: z.number().int(),
  topUpFeeBasisPoints: z.number().int(),
  minAmountCents: z.number().int(),
  maxAmountCents: z.number().int(),
  description: z.string(),
  tiers: z.array(priceQuoteSchema),
  topUpExample: priceQuoteSchema,
});
export type Pricing = z.infer<typeof pricingSchema>;

// --- card data ---

export const billingAddressSchema = z.object({
  line1: z.string(),
  city: z.string(),
  state: z.string(),
  postalCode: z.string(),
  country: z.string(),
});
export type BillingAddress = z.infer<typeof billingAddressSchema>;

/** The sensitive part of a card: only ever stored encrypted, only shown by the details endpoint and the one-time envelope. */
export const cardDetailsSchema = z.object({
  cardNumber: z.string(),
  expiryMonth: z.number().int(),
  expiryYear: z.number().int(),
  cvv: z.string(),
  billingAddress: billingAddressSchema,
});
export type CardDetails = z.infer<typeof cardDetailsSchema>;

/**
 * The billing address as the API answers it: ours (`line1`, `postalCode`) and, beside them, the
 * names ASG Card's API and clients use (`street`, `zip`; `city`, `state`, `country` are shared).
 */
export const billingAddressViewSchema = billingAddressSchema.extend({ street: z.string(), zip: z.string() });
export type BillingAddressView = z.infer<typeof billingAddressViewSchema>;

/** Card data as the details endpoint and the one-time envelope answer it. */
export const cardDetailsViewSchema = cardDetailsSchema.extend({ billingAddress: billingAddressViewSchema });
export type CardDetailsView = z.infer<typeof cardDetailsViewSchema>;

/** Stored card data → its answer, with ASG's address keys added (none of ours removed). */
export function cardDetailsView(details: CardDetails): CardDetailsView {
  const address = details.billingAddress;
  return { ...details, billingAddress: { ...address, street: address.line1, zip: address.postalCode } };
}

// --- paid ---

export const paymentSummarySchema = z.object({
  amountCharged: z.number(),
  txHash: z.string(),
  network: z.string(),
  paymentId: z.string(),
});
export type PaymentSummary = z.infer<typeof paymentSummarySchema>;

/** The card as a purchase answers it. */
export const purchasedCardSchema = z.object({
  cardId: z.string(),
  nameOnCard: z.string(),
  balance: z.number(),
  status: z.string(),
  createdAt: z.string(),
});
export type PurchasedCard = z.infer<typeof purchasedCardSchema>;

export const detailsEnvelopeSchema = cardDetailsViewSchema.extend({
  oneTimeAccess: z.boolean(),
  expiresInSeconds: z.number().int(),
});
export type DetailsEnvelope = z.infer<typeof detailsEnvelopeSchema>;

/** 201 of `POST /cards/create/tier/:amount`. */
export const createCardResultSchema = z.object({
  success: z.boolean(),
  card: purchasedCardSchema,
  payment: paymentSummarySchema,
  /** Only in the first response to a purchase; a replayed response leaves it out (read details with the details endpoint). */
  detailsEnvelope: detailsEnvelopeSchema.optional(),
});
export type CreateCardResult = z.infer<typeof createCardResultSchema>;

/** 200 of `POST /cards/fund/tier/:amount`. */
export const fundCardResultSchema = z.object({
  success: z.boolean(),
  cardId: z.string(),
  fundedAmount: z.number(),
  newBalance: z.number(),
  payment: paymentSummarySchema,
});
export type FundCardResult = z.infer<typeof fundCardResultSchema>;

/** `GET /payments/:paymentId` (the wallet that paid only). */
export const paymentStatusSchema = z.object({
  paymentId: z.string(),
  kind: z.string(),
  status: z.string(),
  payer: z.string(),
  network: z.string(),
  amountAtomic: z.string(),
  amount: z.string(),
  amountCharged: z.number(),
  txHash: z.string().nullable(),
  cardId: z.string().nullable(),
  refundTxHash: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type PaymentStatus = z.infer<typeof paymentStatusSchema>;

// --- wallet-signed ---

export const cardSummarySchema = z.object({
  cardId: z.string(),
  nameOnCard: z.string(),
  lastFour: z.string(),
  /** Available to spend (ASG's `balance`): loads − holds − captures + refunds + reversals. */
  balance: z.number(),
  balanceCents: z.number().int(),
  /** Held by authorizations not yet captured, reversed or expired (absent from servers before issue 13). */
  held: z.number().optional(),
  heldCents: z.number().int().optional(),
  status: z.string(),
  createdAt: z.string(),
});
export type CardSummary = z.infer<typeof cardSummarySchema>;

/** `GET /cards`: the cards this wallet holds (bought). */
export const cardListSchema = z.object({ cards: z.array(cardSummarySchema) });
export type CardList = z.infer<typeof cardListSchema>;

export const assignedCardSchema = cardSummarySchema.extend({ agentAddress: z.string() });
export type AssignedCard = z.infer<typeof assignedCardSchema>;

/** `GET /cards?role=owner`: cards other wallets bought and named this wallet owner of (not chosen by it). */
export const assignedCardListSchema = z.object({
  role: z.literal('owner'),
  description: z.string(),
  cards: z.array(assignedCardSchema),
});
export type AssignedCardList = z.infer<typeof assignedCardListSchema>;

/**
 * A closed card's closure: when and by whom, and the refund of its available balance to the owner,
 * in USDC on-chain. `refund.status`: `none` (zero balance, nothing sent), `pending` (recorded, not
 * yet seen on the ledger; card402 keeps sending it until it lands), `sent` (landed: `txHash`).
 */
export const cardClosureSchema = z.object({
  closedAt: z.string(),
  closedBy: z.string(),
  refund: z.object({
    status: z.enum(['none', 'pending', 'sent']),
    amount: z.number(),
    amountCents: z.number().int(),
    /** USDC atomic units (7 decimals), as a decimal string. */
    amountAtomic: z.string(),
    to: z.string(),
    txHash: z.string().nullable(),
  }),
});
export type CardClosure = z.infer<typeof cardClosureSchema>;

export const cardSchema = cardSummarySchema.extend({
  detailsRevoked: z.boolean(),
  agentAddress: z.string(),
  ownerAddress: z.string(),
  updatedAt: z.string(),
  /** Only on a closed card. */
  closure: cardClosureSchema.optional(),
  /** Spend controls (PATCH /cards/:cardId); absent from servers before issue 13. */
  controls: cardControlsSchema.optional(),
});
export type Card = z.infer<typeof cardSchema>;

/** `GET /cards/:cardId`. */
export const cardResponseSchema = z.object({ card: cardSchema });
export type CardResponse = z.infer<typeof cardResponseSchema>;

/** `GET /cards/:cardId/details`. */
export const cardDetailsResponseSchema = z.object({ details: cardDetailsViewSchema });
export type CardDetailsResponse = z.infer<typeof cardDetailsResponseSchema>;

/** `POST /cards/:cardId/freeze` and `/unfreeze`. */
export const statusChangeSchema = z.object({ success: z.boolean(), cardId: z.string(), status: z.string() });
export type StatusChange = z.infer<typeof statusChangeSchema>;

/** `DELETE /cards/:cardId` (owner only): the card is closed and its balance goes back to the owner. */
export const closeCardResultSchema = z.object({
  success: z.boolean(),
  cardId: z.string(),
  status: z.literal('closed'),
  closure: cardClosureSchema,
});
export type CloseCardResult = z.infer<typeof closeCardResultSchema>;

/** `POST /cards/:cardId/revoke-details` and `/restore-details`. */
export const detailsRevocationSchema = z.object({ success: z.boolean(), cardId: z.string(), detailsRevoked: z.boolean() });
export type DetailsRevocation = z.infer<typeof detailsRevocationSchema>;

export const cardTransactionSchema = z.object({
  id: z.string(),
  type: z.string(),
  amount: z.number(),
  amountCents: z.number().int(),
  description: z.string(),
  createdAt: z.string(),
  /** ASG's fields: `completed` for a movement; `approved` / `declined` for an authorization. */
  status: z.string(),
  currency: z.string(),
  /** Authorization events only: the authorization, its merchant, and why it was declined. */
  authorizationId: z.string().optional(),
  merchant: merchantSchema.optional(),
  declineReason: z.enum(DECLINE_REASONS).optional(),
  declineDetail: z.string().optional(),
});
export type CardTransaction = z.infer<typeof cardTransactionSchema>;

/**
 * ASG's page numbers, beside our cursor: `total` entries in `pages` pages of `limit`. `page` is the
 * page asked for with `?page=` (1 when neither `page` nor `cursor` is given) and null on a page
 * asked for with `?cursor=`, which need not start on a page boundary.
 */
export const paginationSchema = z.object({
  page: z.number().int().nullable(),
  limit: z.number().int(),
  total: z.number().int(),
  pages: z.number().int(),
});
export type Pagination = z.infer<typeof paginationSchema>;

/**
 * `GET /cards/:cardId/transactions`, newest first. Page with `?page=N&limit=M` (ASG), or pass
 * `nextCursor` back as `cursor` (null on the last page); not both.
 */
export const transactionsPageSchema = z.object({
  cardId: z.string(),
  transactions: z.array(cardTransactionSchema),
  nextCursor: z.string().nullable(),
  pagination: paginationSchema,
});
export type TransactionsPage = z.infer<typeof transactionsPageSchema>;

/** `GET /cards/:cardId/balance`. */
export const balanceResponseSchema = z.object({
  cardId: z.string(),
  balance: z.number(),
  balanceCents: z.number().int(),
  held: z.number().optional(),
  heldCents: z.number().int().optional(),
  currency: z.string(),
  /** Where the balance comes from (ASG's field): `ledger`, card402's own record of loads and top-ups. */
  source: z.string(),
});
export type BalanceResponse = z.infer<typeof balanceResponseSchema>;

export const detailsAccessAttemptSchema = z.object({
  time: z.string(),
  /** `details`, `redeem` (a card session) or `secrets` (a secrets session). */
  path: z.string(),
  wallet: z.string(),
  ip: z.string(),
  userAgent: z.string(),
  outcome: z.string(),
});

/** `GET /cards/:cardId/details-access`: the details audit, newest first, and refusals counted beyond it. */
export const detailsAccessPageSchema = z.object({
  cardId: z.string(),
  attempts: z.array(detailsAccessAttemptSchema),
  nextCursor: z.string().nullable(),
  unlistedRefusals: z.object({
    attempts: z.number().int(),
    firstAt: z.string().nullable(),
    lastAt: z.string().nullable(),
  }),
});
export type DetailsAccessPage = z.infer<typeof detailsAccessPageSchema>;

// --- card data paths (issue #14): card sessions, secrets sessions, sealed details ---

/** `POST /cards/:cardId/sessions`: Flowglad's ranges and defaults. */
export const createCardSessionRequestSchema = z.object({
  ttlSeconds: z.number().int().min(30).max(3600).default(300),
  maxRedeemCount: z.number().int().min(1).max(10).default(1),
});
export type CreateCardSessionRequest = z.input<typeof createCardSessionRequestSchema>;
/** The body as the route reads it: none at all means every default. */
export const createCardSessionBodySchema = createCardSessionRequestSchema.optional().transform((body) => body ?? createCardSessionRequestSchema.parse({}));

export const cardSessionSchema = z.object({
  id: z.string(),
  cardId: z.string(),
  /** active → redeemed (count reached) or expired (TTL) → scrubbed (can never be redeemed again). */
  status: z.enum(['active', 'redeemed', 'expired', 'scrubbed']),
  maxRedeemCount: z.number().int(),
  redeemCount: z.number().int(),
  expiresAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type CardSession = z.infer<typeof cardSessionSchema>;

/** 201 of `POST /cards/:cardId/sessions`: the redeem token is shown this once and stored only as a hash. */
export const createdCardSessionSchema = z.object({ session: cardSessionSchema, redeemToken: z.string() });
export type CreatedCardSession = z.infer<typeof createdCardSessionSchema>;

/** `GET /card-sessions/:id`. */
export const cardSessionResponseSchema = z.object({ session: cardSessionSchema });
export type CardSessionResponse = z.infer<typeof cardSessionResponseSchema>;

/** `GET /card-sessions/:id/redemptions`, oldest first. */
export const cardSessionRedemptionsSchema = z.object({
  sessionId: z.string(),
  redemptions: z.array(z.object({ id: z.string(), ipAddress: z.string(), redeemedAt: z.string() })),
});
export type CardSessionRedemptions = z.infer<typeof cardSessionRedemptionsSchema>;

/** `POST /card-sessions/:id/redeem` without X-AGENT-PUBKEY. */
export const redeemedCardSessionSchema = z.object({ session: cardSessionSchema, details: cardDetailsViewSchema });
export type RedeemedCardSession = z.infer<typeof redeemedCardSessionSchema>;

/** `POST /card-sessions/:id/redeem` with X-AGENT-PUBKEY: the details only sealed to that key. */
export const sealedRedeemedCardSessionSchema = z.object({ session: cardSessionSchema, sealed: sealedBoxSchema });
export type SealedRedeemedCardSession = z.infer<typeof sealedRedeemedCardSessionSchema>;

/** `POST /cards/secrets/session`: a single-use session and its AES-128 key (hex), shown once. */
export const secretsSessionSchema = z.object({ sessionId: z.string(), secretKey: z.string(), expiresAt: z.string() });
export type SecretsSession = z.infer<typeof secretsSessionSchema>;

export const revealSecretsRequestSchema = z.object({ sessionId: z.string().min(1).max(64) });
export type RevealSecretsRequest = z.input<typeof revealSecretsRequestSchema>;

const encryptedFieldSchema = z.object({ data: z.string(), iv: z.string() });

/** `POST /cards/:cardId/secrets`: machines.cash's shape; number and CVC only under the session's key. */
export const cardSecretsSchema = z.object({
  encryptedPan: encryptedFieldSchema,
  encryptedCvc: encryptedFieldSchema,
  expirationMonth: z.number().int(),
  expirationYear: z.number().int(),
  last4: z.string(),
});
export type CardSecrets = z.infer<typeof cardSecretsSchema>;
