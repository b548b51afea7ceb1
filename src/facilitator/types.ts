import type { PaymentPayload, PaymentRequirements } from '../protocol/x402.js';
import type { InspectedPayment, VerifyReason } from '../x402/verify.js';
import type { SendResult, TransactionLookup } from '../stellar/rpc.js';

declare const verificationHandle: unique symbol;
/**
 * What a successful verify() hands back so that the same facilitator can settle without verifying
 * again. Opaque: only the facilitator that issued it can read it, and it ignores anyone else's.
 */
export interface VerificationHandle {
  readonly [verificationHandle]: true;
}

export type VerifyOutcome =
  | { ok: true; payer: string; handle?: VerificationHandle }
  | { ok: false; reason: VerifyReason | string; payer?: string };

/**
 * How a settlement ended. `pending` means the transaction may still land: the payment must stay
 * `settling` and be resolved later, never reported as failed and never charged again.
 */
export type SettleOutcome =
  | { status: 'success'; txHash: string; ledger?: number }
  | { status: 'failed'; reason: string; txHash?: string }
  | { status: 'pending'; txHash?: string; reason: string };

export interface SettleHooks {
  /** The handle of a verify() moments ago (skips a second simulation). */
  verified?: VerificationHandle | undefined;
  /** Called with each envelope BEFORE it is sent, so a crash can never lose track of it. */
  onSubmitting?: (txHash: string, envelopeXdr: string) => Promise<void>;
}

/**
 * What a facilitator that reports each envelope before sending it can also do: find that
 * transaction again and resend the identical envelope. Recovery relies on it to resolve a payment
 * from its recorded hash (docs/ARCHITECTURE.md, "What proves a payment").
 */
export interface EnvelopeTracking {
  /** Where a submitted transaction stands. */
  lookup(txHash: string): Promise<TransactionLookup>;
  /** Sends a stored envelope again (DUPLICATE if it is already known). */
  resubmit(envelopeXdr: string): Promise<SendResult>;
}

/**
 * Verifies and settles x402 payments: ours (local.ts, with a channel pool) or an external one over
 * the standard HTTP API (http.ts). What it can do beyond that is stated, not inferred from its class.
 */
export interface Facilitator {
  /** Every account the facilitator signs with: no payment may use one. */
  addresses(): Promise<ReadonlySet<string>>;
  /**
   * Full verification. `inspected` may carry the caller's own inspectPayment() result for this very
   * payload (a local facilitator then skips re-parsing it); remote facilitators ignore it.
   */
  verify(payload: PaymentPayload, requirements: PaymentRequirements, inspected?: InspectedPayment): Promise<VerifyOutcome>;
  settle(payload: PaymentPayload, requirements: PaymentRequirements, hooks?: SettleHooks): Promise<SettleOutcome>;
  /**
   * Present when the facilitator calls `hooks.onSubmitting` with every envelope before sending it,
   * and can look that transaction up and resend it. Absent for an external facilitator: card402
   * then records the payment before calling settle(), and proves the outcome on its own ledger view.
   */
  readonly envelopes?: EnvelopeTracking | undefined;
}
