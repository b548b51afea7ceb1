import type { PaymentStatus } from './db/schema.js';
import type { SettlementResponse } from './protocol/x402.js';

/**
 * What a service refuses, and what the caller can learn from it: a closed set of codes, each with
 * its own typed details. Services throw DomainError and know nothing of HTTP; the HTTP kernel's
 * one mapper (`http/kernel/errors.ts`, called from `app.onError`) turns each code into exactly one
 * status, `{error, code}` body and headers. A new refusal is a row here and a case there.
 */
export interface DomainErrorDetails {
  // Card management (DESIGN §3, §6–7).
  card_not_found: Record<string, never>;
  owner_only: Record<string, never>;
  details_revoked: Record<string, never>;
  invalid_nonce: Record<string, never>;
  nonce_replayed: Record<string, never>;
  details_rate_limited: { retryAfterSeconds: number };
  /** The card is closed (DELETE /cards/:cardId): nothing about it changes again, and nothing is paid for it. */
  card_closed: Record<string, never>;
  // Cards that spend (issue #13).
  /** A change only another role may make (DESIGN §8): which role, and the fields that need it. */
  role_required: { requiredRole: 'owner'; fields: string[] };
  authorization_not_found: Record<string, never>;
  /** The authorization is not in a state that allows this (e.g. capturing a reversed hold). */
  authorization_state: { state: string };
  /** An amount above what the operation allows (a capture above the hold, a refund above the captured). */
  amount_too_large: { field: string; maxCents: number };
  // Card data by every path (issue #14): card sessions, secrets sessions.
  /** The card is frozen (or any status but active): no path releases its data. */
  card_not_active: Record<string, never>;
  card_session_not_found: Record<string, never>;
  /** The session is expired, used up (`redeemed`) or scrubbed. */
  card_session_not_redeemable: { status: string };
  /** The scoped redeem token does not verify, or is not the one issued for the session. */
  scoped_token_invalid: Record<string, never>;
  /** The token verifies but is for another session or card. */
  scoped_token_scope_mismatch: Record<string, never>;
  secrets_session_not_found: Record<string, never>;
  /** The secrets session is used, expired or scrubbed. */
  secrets_session_not_usable: { status: string };
  // Paid requests (DESIGN §4–5).
  /** The card a funding payment names does not exist or is not the payer's. */
  card_to_fund_not_found: Record<string, never>;
  provider_capacity: { retryAfterSeconds: number };
  network_unavailable: { retryAfterSeconds: number };
  idempotency_conflict: Record<string, never>;
  /** A product refused to reserve what a payment pays for (PaidProduct.claim): nothing was charged. */
  purchase_unavailable: Record<string, never>;
  payment_in_progress: { paymentId: string; retryAfterSeconds: number };
  payment_under_review: { paymentId: string };
  fulfilment_failed: { paymentId: string; status: PaymentStatus; settlement?: SettlementResponse | undefined; refundTxHash?: string | null | undefined };
  // Payment requests (issue 16).
  /** Unknown id, a token that is not this request's, or a request of another agent: one answer for all. */
  payment_request_not_found: Record<string, never>;
  /** The request was answered or expired: it can no longer be approved or rejected. */
  payment_request_closed: { status: string };
  /** The agent named an owner, and this wallet is not it. */
  payment_request_wrong_payer: Record<string, never>;
  /** The owner's wallet cannot make the transfer (simulation refused it, e.g. too little USDC). */
  payment_request_unpayable: Record<string, never>;
  // Mandates (issue 17).
  mandate_not_found: Record<string, never>;
  /** Not `active`: waiting for the owner's approval, revoked or expired. */
  mandate_not_active: { phase: string };
  /** A purchase the mandate's rules refuse; nothing was sent. */
  mandate_rule_exceeded: { period: string; remaining: string };
  /** The on-chain allowance left is less than the price. */
  mandate_allowance_exhausted: Record<string, never>;
  /** The owner lowered or cleared the allowance on-chain. */
  mandate_revoked: Record<string, never>;
  /** The owner's USDC balance is less than the price. */
  mandate_owner_funds: Record<string, never>;
  /** A signed authorization entry that is not what the mandate asks the owner to sign. */
  invalid_auth_entry: { reason: string };
  // Signed webhooks (issue 19).
  /** Unknown id, or another wallet's endpoint: one answer for both. */
  webhook_not_found: Record<string, never>;
  /** A URL card402 will not deliver to (scheme, or a loopback/private address without WEBHOOK_ALLOW_PRIVATE_ADDRESSES). */
  webhook_url_refused: Record<string, never>;
  /** The wallet has as many endpoints as allowed. */
  webhook_limit_reached: { max: number };
}

export type DomainErrorCode = keyof DomainErrorDetails;

/** A refusal the caller can act on. Its message is shown to the caller as-is: keep secrets and internals out. */
export class DomainError<C extends DomainErrorCode = DomainErrorCode> extends Error {
  override name = 'DomainError';
  readonly details: DomainErrorDetails[C];
  constructor(
    readonly code: C,
    message: string,
    ...details: DomainErrorDetails[C] extends Record<string, never> ? [] : [DomainErrorDetails[C]]
  ) {
    super(message);
    this.details = (details[0] ?? {}) as DomainErrorDetails[C];
  }
}

/** Every DomainError as a union discriminated by `code`, so a switch over `code` narrows `details`. */
export type AnyDomainError = { [C in DomainErrorCode]: DomainError<C> }[DomainErrorCode];
