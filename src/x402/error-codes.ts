import type { VerifyReason } from './verify.js';

/**
 * The x402 v2 specification's standard error codes (section 9, "Error Handling"). card402 answers
 * with one of them wherever x402 clients and servers read an error code — the `error` of a 402 body,
 * `invalidReason` of /verify, `errorReason` of /settle — and keeps its own detailed reason beside
 * it (`reason`, `invalidMessage`, `errorMessage`).
 */
export const X402_ERROR_CODES = [
  'insufficient_funds',
  'invalid_network',
  'invalid_payload',
  'invalid_payment_requirements',
  'invalid_scheme',
  'unsupported_scheme',
  'invalid_x402_version',
  'invalid_transaction_state',
  'unexpected_verify_error',
  'unexpected_settle_error',
] as const;
export type X402ErrorCode = (typeof X402_ERROR_CODES)[number];

const STANDARD: ReadonlySet<string> = new Set(X402_ERROR_CODES);

/** Every verification reason, mapped (a closed table: a new reason does not compile without its code). */
const BY_VERIFY_REASON: Record<VerifyReason, X402ErrorCode> = {
  unsupported_version: 'invalid_x402_version',
  unsupported_scheme: 'unsupported_scheme',
  network_mismatch: 'invalid_network',
  requirements_mismatch: 'invalid_payment_requirements',
  invalid_transaction: 'invalid_payload',
  wrong_operation_count: 'invalid_payload',
  wrong_operation: 'invalid_payload',
  wrong_asset: 'invalid_payload',
  wrong_function: 'invalid_payload',
  invalid_arguments: 'invalid_payload',
  wrong_recipient: 'invalid_payload',
  wrong_amount: 'invalid_payload',
  facilitator_is_source: 'invalid_payload',
  facilitator_is_payer: 'invalid_payload',
  facilitator_in_auth: 'invalid_payload',
  unsupported_payer: 'invalid_payload',
  no_auth_entries: 'invalid_payload',
  unexpected_auth_entries: 'invalid_payload',
  unsupported_credentials: 'invalid_payload',
  auth_not_payer: 'invalid_payload',
  auth_has_subinvocations: 'invalid_payload',
  auth_wrong_invocation: 'invalid_payload',
  missing_signature: 'invalid_payload',
  invalid_signature: 'invalid_payload',
  expired: 'invalid_payload',
  expiration_too_far: 'invalid_payload',
  fee_too_high: 'invalid_payload',
  // The ledger refuses the transfer as it stands (a balance too low, a spent nonce, …).
  simulation_failed: 'invalid_transaction_state',
  transfer_event_missing: 'invalid_payload',
  unexpected_events: 'invalid_payload',
  transfer_event_mismatch: 'invalid_payload',
};

/** Reasons that are not verification steps: a payment header that does not decode, and settlement outcomes. */
const BY_OTHER_REASON: Record<string, X402ErrorCode> = {
  invalid_payment_header: 'invalid_payload',
  invalid_request: 'invalid_payload',
  settlement_failed: 'invalid_transaction_state',
  payment_failed: 'invalid_transaction_state',
  settle_error: 'unexpected_settle_error',
  settlement_pending: 'unexpected_settle_error',
};

/**
 * The standard code for one of our reasons. A standard code maps to itself (an external
 * facilitator may already answer with one); a settlement's transaction failure is
 * `invalid_transaction_state`; anything else is `invalid_payload`.
 */
export function x402ErrorCode(reason: string): X402ErrorCode {
  if (STANDARD.has(reason)) return reason as X402ErrorCode;
  if (Object.hasOwn(BY_VERIFY_REASON, reason)) return BY_VERIFY_REASON[reason as VerifyReason];
  if (Object.hasOwn(BY_OTHER_REASON, reason)) return BY_OTHER_REASON[reason]!;
  if (reason.startsWith('transaction_failed')) return 'invalid_transaction_state';
  return 'invalid_payload';
}
