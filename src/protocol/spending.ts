import { z } from 'zod';
import { parseDollarsToCents } from './money/units.js';

/**
 * Cards that spend (issue #13): spend controls, authorizations from the sandbox card network and a
 * real issuer, and the card's movements. Request and response bodies as zod schemas, shared by the
 * routes and the SDK (see api.ts for the conventions).
 *
 * Units: `amount` is US dollars, a JSON number or a decimal string with at most two decimals
 * ("12.50", 12.5), parsed exactly into integer cents (never through floating point arithmetic);
 * every answer carries the integer cents beside it (`amountCents`). Limits are given in cents
 * (`amountCents`), as machines.cash does.
 */

/** machines.cash's limit frequencies; every one but perAuthorization and allTime is a rolling window. */
export const LIMIT_FREQUENCIES = ['perAuthorization', 'per24HourPeriod', 'per7DayPeriod', 'per30DayPeriod', 'perYearPeriod', 'allTime'] as const;
export type LimitFrequency = (typeof LIMIT_FREQUENCIES)[number];

const DAY_MS = 86_400_000;
/** The rolling window of each frequency in milliseconds; null: no window (one authorization, or all time). */
export const FREQUENCY_WINDOW_MS: Record<LimitFrequency, number | null> = {
  perAuthorization: null,
  per24HourPeriod: DAY_MS,
  per7DayPeriod: 7 * DAY_MS,
  per30DayPeriod: 30 * DAY_MS,
  perYearPeriod: 365 * DAY_MS,
  allTime: null,
};

/** Short names the CLI accepts for `--per`. */
export const FREQUENCY_ALIASES: Record<string, LimitFrequency> = {
  authorization: 'perAuthorization',
  day: 'per24HourPeriod',
  week: 'per7DayPeriod',
  month: 'per30DayPeriod',
  year: 'perYearPeriod',
  all: 'allTime',
};

/** The largest amount anything takes: $5,000,000.00 in cents (a safe integer with room for sums). */
export const MAX_AMOUNT_CENTS = 500_000_000;

export const spendLimitSchema = z.object({
  amountCents: z.number().int().min(0).max(MAX_AMOUNT_CENTS),
  frequency: z.enum(LIMIT_FREQUENCIES),
});
export type SpendLimit = z.infer<typeof spendLimitSchema>;

/** A merchant category code: four digits (ISO 18245). */
export const mccSchema = z.string().regex(/^\d{4}$/, 'expected a 4-digit merchant category code (MCC)');

const merchantNameSchema = z.string().trim().min(1).max(100).regex(/^[^\p{Cc}\p{Cf}]*$/u, 'must be printable text (no control characters)');

/** Card statuses a PATCH may ask for; ASG's `frozen` is `locked` here. */
export const CONTROL_STATUSES = ['active', 'locked'] as const;

/** `PATCH /cards/:cardId`: every field optional; an absent field is left as it is. */
export const cardControlsPatchSchema = z
  .object({
    status: z.enum(CONTROL_STATUSES).optional(),
    limits: z.array(spendLimitSchema).max(20).optional(),
    allowedCategories: z.array(mccSchema).max(200).optional(),
    blockedCategories: z.array(mccSchema).max(200).optional(),
    allowedMerchants: z.array(merchantNameSchema).max(200).optional(),
    /** ISO 8601 time after which every authorization is declined (card_expired); null removes it. */
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export type CardControlsPatch = z.input<typeof cardControlsPatchSchema>;

/** The controls as `GET /cards/:cardId` and `PATCH` answer them. */
export const cardControlsSchema = z.object({
  limits: z.array(spendLimitSchema),
  allowedCategories: z.array(z.string()),
  blockedCategories: z.array(z.string()),
  allowedMerchants: z.array(z.string()),
  expiresAt: z.string().nullable(),
  /** Which role locked the card (`holder` or `owner`); null when it is not locked. */
  lockedBy: z.enum(['holder', 'owner']).nullable(),
});
export type CardControls = z.infer<typeof cardControlsSchema>;

export const controlsResponseSchema = z.object({
  success: z.boolean(),
  cardId: z.string(),
  status: z.string(),
  controls: cardControlsSchema,
});
export type ControlsResponse = z.infer<typeof controlsResponseSchema>;

/** The closed set of reasons an authorization is declined. */
export const DECLINE_REASONS = [
  'card_invalid',
  'card_expired',
  'card_frozen',
  'card_closed',
  'insufficient_funds',
  'spending_limit',
  'category_blocked',
  'merchant_not_allowed',
  'currency_not_supported',
] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

/** Dollars as a JSON number or a string, at most two decimals, more than zero → integer cents. */
export const dollarAmountSchema = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    const cents = parseDollarsToCents(typeof value === 'number' ? String(value) : value);
    if (cents === null || cents <= 0 || cents > MAX_AMOUNT_CENTS) {
      ctx.addIssue({ code: 'custom', message: 'expected a dollar amount above 0 with at most two decimals (e.g. "12.50")' });
      return z.NEVER;
    }
    return cents;
  });

export const merchantSchema = z.object({
  name: merchantNameSchema,
  mcc: mccSchema,
  country: z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 country code (e.g. "US")'),
  url: z.url({ protocol: /^https?$/ }).max(2048).optional(),
});
export type Merchant = z.infer<typeof merchantSchema>;

/** Three-letter currency code; only USD is supported (others are declined currency_not_supported). */
const currencySchema = z.string().regex(/^[A-Za-z]{3}$/, 'expected a 3-letter currency code').transform((c) => c.toUpperCase());

/** `POST /sandbox/authorizations`: the card as a merchant's acquirer presents it. */
export const sandboxAuthorizationRequestSchema = z.object({
  cardNumber: z.string().regex(/^\d{12,19}$/, 'expected 12-19 digits'),
  expiryMonth: z.number().int().min(1).max(12),
  expiryYear: z.number().int().min(2000).max(2200),
  cvv: z.string().regex(/^\d{3,4}$/, 'expected 3 or 4 digits'),
  amount: dollarAmountSchema,
  currency: currencySchema,
  merchant: merchantSchema,
});
export type SandboxAuthorizationRequest = z.input<typeof sandboxAuthorizationRequestSchema>;

/** `/capture` (optional partial amount) and `/refund` (amount required). */
export const captureRequestSchema = z.object({ amount: dollarAmountSchema.optional() }).strict();
export const refundRequestSchema = z.object({ amount: dollarAmountSchema }).strict();

/** `POST /issuer/authorizations`: a real issuer asks in real time, naming the card by its own reference. */
export const issuerAuthorizationRequestSchema = z.object({
  /** The issuer's id for this authorization: a retry with the same id gets the first answer. */
  id: z.string().min(1).max(200),
  /** The issuer's own reference of the card (card402 keeps it as the card's provider reference). */
  cardReference: z.string().min(1).max(200),
  amount: dollarAmountSchema,
  currency: currencySchema,
  merchant: merchantSchema,
});
export type IssuerAuthorizationRequest = z.input<typeof issuerAuthorizationRequestSchema>;

export const authorizationSchema = z.object({
  id: z.string(),
  status: z.enum(['approved', 'declined']),
  declineReason: z.enum(DECLINE_REASONS).optional(),
  /** For spending_limit: the limit that decided, e.g. "per24HourPeriod:5000". */
  declineDetail: z.string().optional(),
  amount: z.number(),
  amountCents: z.number().int(),
  currency: z.string(),
  merchant: merchantSchema,
  /** Where the hold stands: pending (held), captured, reversed, expired; declined for a decline. */
  state: z.enum(['declined', 'pending', 'captured', 'reversed', 'expired']),
  heldCents: z.number().int(),
  capturedCents: z.number().int(),
  refundedCents: z.number().int(),
  expiresAt: z.string(),
  createdAt: z.string(),
});
export type Authorization = z.infer<typeof authorizationSchema>;

export const authorizationResponseSchema = z.object({ authorization: authorizationSchema });
export type AuthorizationResponse = z.infer<typeof authorizationResponseSchema>;

/** `POST /issuer/authorizations`: approve or decline, with the same reasons. */
export const issuerDecisionSchema = z.object({
  approved: z.boolean(),
  authorizationId: z.string(),
  declineReason: z.enum(DECLINE_REASONS).optional(),
  declineDetail: z.string().optional(),
});
export type IssuerDecision = z.infer<typeof issuerDecisionSchema>;

/** Headers of a signed issuer request: unix seconds, and hex HMAC-SHA256 of `${timestamp}.${body}`. */
export const ISSUER_TIMESTAMP_HEADER = 'X-Card402-Timestamp';
export const ISSUER_SIGNATURE_HEADER = 'X-Card402-Signature';
