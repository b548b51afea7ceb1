import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The typed shape of the SQLite database. Times are unix milliseconds (INTEGER); money is integer
 * cents; booleans are 0/1. Every table here has a migration in ./migrations.
 */
export interface Database {
  cards: CardsTable;
  card_ledger_entries: CardLedgerEntriesTable;
  wallet_auth_replays: WalletAuthReplaysTable;
  card_details_nonces: CardDetailsNoncesTable;
  card_details_access: CardDetailsAccessTable;
  card_details_refusals: CardDetailsRefusalsTable;
  payments: PaymentsTable;
  sandbox_issuer_operations: SandboxIssuerOperationsTable;
  sandbox_issuer_usage: SandboxIssuerUsageTable;
  card_sessions: CardSessionsTable;
  card_session_redemptions: CardSessionRedemptionsTable;
  secrets_sessions: SecretsSessionsTable;
  idempotency_keys: IdempotencyKeysTable;
  payment_requests: PaymentRequestsTable;
  card_closures: CardClosuresTable;
  // Cards that spend (issue #13).
  card_network_index: CardNetworkIndexTable;
  card_controls: CardControlsTable;
  card_authorizations: CardAuthorizationsTable;
  card_spend_entries: CardSpendEntriesTable;
  card_spend_totals: CardSpendTotalsTable;
  mandates: MandatesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  instance_leases: InstanceLeasesTable;
  auth_failures: AuthFailuresTable;
}

/** `closed` is final (DELETE /cards/:cardId): nothing changes a closed card again. */
export type CardStatus = 'active' | 'frozen' | 'closed';

export interface CardsTable {
  id: string; // UUIDv4, the public cardId
  agent_address: string; // the wallet that paid (G...)
  owner_address: string; // the wallet that may revoke/restore details; defaults to the agent
  name_on_card: string;
  email: string;
  status: CardStatus;
  details_revoked: number; // 0 | 1
  last_four: string;
  /** AES-256-GCM ciphertext of the card details (number, cvv, expiry, billing address). */
  details_ciphertext: Buffer;
  provider_ref: string; // the issuer's own id; never returned by the API
  created_at: number;
  updated_at: number;
}

/** `closure`: the available balance leaving the card when it is closed (negative), sent back on-chain. */
export type CardLedgerKind = 'initial_load' | 'fund' | 'spend' | 'refund' | 'adjustment' | 'closure';

/** Every change to a card balance is a row here; the balance is their sum. */
export interface CardLedgerEntriesTable {
  id: string;
  card_id: string;
  kind: CardLedgerKind;
  amount_cents: number; // signed
  payment_id: string | null;
  description: string;
  created_at: number;
  seq: Generated<number>;
}

export type CardRow = Selectable<CardsTable>;
export type NewCardRow = Insertable<CardsTable>;
export type CardUpdate = Updateable<CardsTable>;
export type CardLedgerEntryRow = Selectable<CardLedgerEntriesTable>;
export type NewCardLedgerEntryRow = Insertable<CardLedgerEntriesTable>;

/** Spent single-use wallet signatures (v1 on protected routes) and v2 request nonces. */
export interface WalletAuthReplaysTable {
  key: string; // e.g. "v2:<address>:<nonce>" or "v1:<mode>:<address>:<timestamp>"
  expires_at: number; // after this the timestamp check alone rejects the signature
  created_at: number; // first presented (v1: the start of its same-client second)
  client_ip: string | null; // v1: the client that first presented it; null for v2 and older rows
  details_reads: Generated<number>; // v1: details reads made with it (at most 1)
}

/** X-AGENT-NONCE values spent on a card's details (stored as sha256 hex, never in clear). */
export interface CardDetailsNoncesTable {
  card_id: string;
  nonce_hash: string;
  wallet_address: string;
  created_at: number;
}

export type DetailsAccessOutcome =
  | 'granted'
  | 'not_authorized'
  | 'revoked'
  | 'invalid_nonce'
  | 'replayed'
  | 'rate_limited'
  | 'error'
  /** The card is not active (frozen, or any status but active): no path releases its data. */
  | 'card_inactive'
  /** A card session or secrets session that is expired, used up or scrubbed. */
  | 'session_unusable';

/** The ways card data leaves card402 (every one audited in card_details_access). */
export type CardDataPath = 'details' | 'redeem' | 'secrets';

/** One row per details attempt on an existing card: who, when, from where, and what happened. Never card data. */
export interface CardDetailsAccessTable {
  seq: Generated<number>;
  id: string;
  card_id: string;
  wallet_address: string;
  ip: string;
  user_agent: string;
  outcome: DetailsAccessOutcome;
  /** Which path the attempt took; rows written before card sessions are all 'details'. */
  path: Generated<CardDataPath>;
  created_at: number;
}

export type CardDetailsAccessRow = Selectable<CardDetailsAccessTable>;

/**
 * Details attempts by wallets that are not a party of the card, beyond what the audit itemizes
 * (a few rows per wallet and per card per hour): counted, one row per card and hour.
 */
export interface CardDetailsRefusalsTable {
  card_id: string;
  hour_start: number; // unix ms, a multiple of one hour
  attempts: number;
  first_at: number;
  last_at: number;
}
/** The paid product a payment is for (payments/products/: `create`, `fund`, ...). */
export type PaymentKind = string;

/**
 * verified → settling → fulfilled when the request that settled it fulfils it (settlement and card
 * in one db transaction); verified | settling → settled → fulfilled when recovery or the reconciler
 * confirms the settlement first. Failure paths: settling | settled → paid_unfulfilled →
 * (fulfilled | refunding → refunded), and verified | settling → failed (no money moved).
 */
export type PaymentStatus =
  | 'verified'
  | 'settling'
  | 'settled'
  | 'fulfilled'
  | 'paid_unfulfilled'
  | 'refunding'
  | 'refunded'
  | 'failed'
  | 'needs_review';

export interface PaymentsTable {
  id: string; // UUIDv4, unguessable; the public paymentId
  kind: PaymentKind;
  payer: string; // G... the `from` of the transfer
  auth_nonce: string; // the auth entry's nonce (int64 as decimal text)
  auth_expiration_ledger: number;
  idempotency_key: string | null;
  request_fingerprint: string; // sha256 of the priced request (kind, amount, body)
  request_json: string; // the validated request body, to fulfil after a crash
  network: string;
  asset: string;
  pay_to: string;
  amount_atomic: string; // bigint as decimal text
  load_cents: number;
  total_cents: number;
  payment_xdr: string; // the payer's signed transaction, to settle after a crash
  status: PaymentStatus;
  settle_tx_hash: string | null;
  settle_envelope_xdr: string | null;
  settled_ledger: number | null;
  card_id: string | null;
  response_json: string | null; // the success response without card secrets
  fulfil_attempts: Generated<number>;
  last_error: string | null;
  refund_tx_hash: string | null;
  refund_envelope_xdr: string | null;
  created_at: number;
  updated_at: number;
  /** When a `failed` payment's verdict became final (no transfer exists, none can appear); null while watched. */
  fate_closed_at: number | null;
  /** The mandate a purchase spends from (`transfer_from` of the owner's allowance); null for an x402 payment. */
  mandate_id: string | null;
  /** Who gets what was bought, when not the payer: the agent buying within its owner's mandate. */
  holder: string | null;
}

export type PaymentRow = Selectable<PaymentsTable>;
export type NewPaymentRow = Insertable<PaymentsTable>;
export type PaymentUpdate = Updateable<PaymentsTable>;

/** The sandbox issuer's record of each card it issued and each load, keyed by our payment id. */
export interface SandboxIssuerOperationsTable {
  request_key: string;
  operation: 'issue' | 'fund';
  provider_ref: string;
  amount_cents: number;
  /** The issued card's data sealed with the card data key (provider_ref as associated data); null for a load. */
  details_ciphertext: Buffer | null;
  created_at: number;
}

/** One row (id 1): the total the sandbox issuer has loaded, checked against its capacity. */
export interface SandboxIssuerUsageTable {
  id: number;
  used_cents: number;
}

export type SandboxIssuerOperationRow = Selectable<SandboxIssuerOperationsTable>;

/**
 * A write's `Idempotency-Key` and its first answer (src/http/idempotency), kept 24 h. Never the
 * request body: only a keyed HMAC of method, path and body.
 */
export interface IdempotencyKeysTable {
  scope: string; // "wallet:G..." for wallet-signed routes, "ip:<client ip>" otherwise
  method: string;
  route: string; // the route pattern, e.g. /cards/:cardId/freeze
  idem_key: string;
  fingerprint: string; // HMAC-SHA256 hex of method, path with query and body
  state: 'running' | 'done';
  /** A random id per claim: only the request holding it stores the answer or releases the key. */
  claim_id: string;
  response_status: number | null;
  response_content_type: string | null;
  response_body: string | null;
  /** While running: when a claim whose process died may be taken over. */
  locked_until: number;
  created_at: number;
  expires_at: number;
}

export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;
// --- Payment requests (issue 16): the agent asks, the owner approves and pays ---

/** Stored statuses; `expired` and `failed` are derived when read (src/approvals/state.ts). */
export type PaymentRequestStoredStatus = 'pending' | 'approved' | 'completed' | 'rejected';

export interface PaymentRequestsTable {
  id: string; // pr_ + 128 random bits
  agent_address: string; // the requester, and the card's holder
  owner_address: string | null; // the only wallet that may approve, when the agent named one
  kind: 'create' | 'fund';
  load_cents: number;
  card_fee_cents: number;
  top_up_fee_cents: number;
  total_cents: number;
  amount_atomic: string; // the quoted price, bigint as decimal text
  body_json: string; // create: {nameOnCard, email}; fund: {cardId}
  note: string | null;
  token_hash: string; // sha256 hex of the approval token; the token itself is never stored
  status: PaymentRequestStoredStatus;
  payment_id: string | null; // the payment that claimed this request
  approver_address: string | null; // the wallet that paid (the card's owner)
  card_id: string | null;
  expires_at: number;
  answered_at: number | null;
  created_at: number;
  updated_at: number;
}

export type PaymentRequestRow = Selectable<PaymentRequestsTable>;

/** none: zero balance, nothing to send; refunding: owed (recorded before sending); refunded: landed on-chain. */
export type ClosureRefundStatus = 'none' | 'refunding' | 'refunded';

/**
 * A closed card and the refund of its available balance to the owner, recorded in the transaction
 * that closes the card. The refund envelope (and its hash) is recorded before it is sent, as for
 * payment refunds (docs/ARCHITECTURE.md, "Closing a card").
 */
export interface CardClosuresTable {
  card_id: string;
  refund_to: string; // G... the owner when the card was closed
  amount_cents: number;
  amount_atomic: string; // bigint as decimal text
  refund_status: ClosureRefundStatus;
  refund_tx_hash: string | null;
  refund_envelope_xdr: string | null;
  closed_by: string; // the wallet that closed it
  closed_at: number;
  updated_at: number;
}

export type CardClosureRow = Selectable<CardClosuresTable>;
// --- Cards that spend (issue #13; migration 2026-11-30-10-card-spending) ---

/** How a card network finds a card: HMACs under a key derived from the card data key, never card data. */
export interface CardNetworkIndexTable {
  card_id: string;
  /** HMAC-SHA256 of the card number (hex). */
  number_hmac: string;
  /** HMAC-SHA256 of number, expiry and CVV (hex): a presented set must match it. */
  verification_hmac: string;
  provider_ref: string;
  created_at: number;
}

export type LockedBy = 'holder' | 'owner';

export interface CardControlsTable {
  card_id: string;
  limits_json: string;
  allowed_categories_json: string;
  blocked_categories_json: string;
  allowed_merchants_json: string;
  expires_at: number | null;
  locked_by: LockedBy | null;
  updated_at: number;
}

export type AuthorizationStatus = 'declined' | 'pending' | 'captured' | 'reversed' | 'expired';
export type AuthorizationSource = 'sandbox' | 'issuer';

export interface CardAuthorizationsTable {
  id: string;
  card_id: string | null;
  source: AuthorizationSource;
  issuer_ref: string | null;
  status: AuthorizationStatus;
  decline_reason: string | null;
  decline_detail: string | null;
  amount_cents: number;
  currency: string;
  held_cents: number;
  captured_cents: number;
  refunded_cents: number;
  merchant_name: string;
  merchant_mcc: string;
  merchant_country: string;
  merchant_url: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export type SpendEntryKind = 'authorization' | 'decline' | 'capture' | 'reversal' | 'expiry' | 'refund';

/** Append-only: each authorization event and how it moved the card's available and held amounts. */
export interface CardSpendEntriesTable {
  seq: Generated<number>;
  id: string;
  card_id: string;
  authorization_id: string;
  kind: SpendEntryKind;
  amount_cents: number;
  available_delta_cents: number;
  held_delta_cents: number;
  created_at: number;
}

export type CardAuthorizationRow = Selectable<CardAuthorizationsTable>;
export type CardSpendEntryRow = Selectable<CardSpendEntriesTable>;
export type CardControlsRow = Selectable<CardControlsTable>;

// --- Card sessions and secrets sessions (issue #14) ---

export type CardSessionStatus = 'active' | 'redeemed' | 'expired' | 'scrubbed';

/** A card session: a scoped redeem token was handed out once; only its sha256 is kept, until scrubbed. */
export interface CardSessionsTable {
  id: string; // "cs_" + 32 hex
  card_id: string;
  created_by: string; // the wallet (holder or owner) that created it: the token's `sub`
  status: CardSessionStatus;
  max_redeem_count: number;
  redeem_count: Generated<number>;
  token_hash: string | null; // sha256 hex of the redeem token; null once scrubbed
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export type CardSessionRow = Selectable<CardSessionsTable>;

/** One row per successful redemption of a card session. */
export interface CardSessionRedemptionsTable {
  seq: Generated<number>;
  id: string;
  session_id: string;
  ip: string;
  created_at: number;
}

export type CardSessionRedemptionRow = Selectable<CardSessionRedemptionsTable>;

export type SecretsSessionStatus = 'active' | 'used' | 'expired' | 'scrubbed';

/** A secrets session: its AES-128 key only encrypted (card data key), and only until used or expired. */
export interface SecretsSessionsTable {
  id: string; // "ss_" + 32 hex
  wallet_address: string;
  status: SecretsSessionStatus;
  key_ciphertext: Buffer | null;
  card_id: string | null; // the card it was used on
  expires_at: number;
  created_at: number;
  updated_at: number;
}

export type SecretsSessionRow = Selectable<SecretsSessionsTable>;
/** Running sums of a card's spend entries, written with each entry (equal to summing them). */
export interface CardSpendTotalsTable {
  card_id: string;
  available_delta_cents: number;
  held_cents: number;
}

/** Where a mandate stands (src/mandates/state.ts lists the allowed changes). */
export type MandatePhase = 'requires-verification' | 'active' | 'revoked' | 'expired';

/** An owner's on-chain allowance to card402's mandate account, and the rules its agent buys within. */
export interface MandatesTable {
  id: string; // "md_" + 26 random base32 characters
  agent_address: string; // the wallet that asked for it and buys within it
  owner_address: string; // the wallet whose USDC it spends (`from` of approve and transfer_from)
  spender_address: string; // card402's mandate account (`spender`)
  asset: string; // the USDC contract
  network: string;
  rules_json: string; // [{period, amountCents}]
  note: string | null;
  allowance_atomic: string; // what the owner approves on-chain, bigint as decimal text
  phase: MandatePhase;
  end_reason: string | null; // why it was revoked: 'owner' (DELETE) or 'on_chain'
  live_until_ledger: number | null; // the approve's expiration ledger
  approve_tx_hash: string | null; // recorded before the approve is sent
  approve_envelope_xdr: string | null;
  approved_at: number | null;
  revoke_tx_hash: string | null;
  created_at: number;
  expires_at: number;
  updated_at: number;
}

export type MandateRow = Selectable<MandatesTable>;
// --- Signed webhooks (src/webhooks) ---

export interface WebhookEndpointsTable {
  id: string; // we_<32 hex>
  wallet_address: string; // the wallet that registered it; it hears about its cards (holder or owner)
  url: string;
  events: string; // JSON array of event types
  created_at: number;
}

/** The outbox: one row per event, written in the transaction of the change it reports. */
export interface WebhookEventsTable {
  id: string; // evt_<32 hex>: the receiver's dedupe key
  type: string;
  card_id: string | null;
  data: string; // JSON, never card data
  created_at: number;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_token: string | null;
  locked_until: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: number;
  status_code: number | null;
  error: string | null;
}

export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookEventRow = Selectable<WebhookEventsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
// --- Several instances on one database (issue 18) ---

/** A lease one card402 process holds on something shared (src/db/leases.ts). */
export interface InstanceLeasesTable {
  name: string; // `payment:<id>`, `channel:<address>`
  holder: string; // the holding process's instance id
  expires_at: number; // unix ms; free after this
  generation: number; // bumped on every take
}

/** Failed wallet authentications of one key (client IP or wallet) in its current fixed window. */
export interface AuthFailuresTable {
  key: string;
  window_start: number;
  failures: number;
}
