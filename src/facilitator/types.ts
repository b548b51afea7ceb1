import type { PaymentPayload, PaymentRequirements } from '../x402/types.js';
import type { InspectedPayment, VerifyReason } from '../x402/verify.js';
import type { SendResult, TransactionLookup } from '../stellar/rpc.js';

/** A successful verification. `token` lets the same facilitator settle without re-simulating. */
export type VerifyOutcome =
  | { ok: true; payer: string; token?: unknown }
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
  /** A verification token from verify() moments ago (skips a second simulation). */
  verified?: unknown;
  /** Called with each envelope BEFORE it is sent, so a crash can never lose track of it. */
  onSubmitting?: (txHash: string, envelopeXdr: string) => Promise<void>;
}

export interface Facilitator {
  readonly kind: 'local' | 'http';
  /** Every account the facilitator signs with: no payment may use one. */
  addresses(): Promise<ReadonlySet<string>>;
  /**
   * Full verification. `inspected` may carry the caller's own inspectPayment() result for this very
   * payload (a local facilitator then skips re-parsing it); remote facilitators ignore it.
   */
  verify(payload: PaymentPayload, requirements: PaymentRequirements, inspected?: InspectedPayment): Promise<VerifyOutcome>;
  settle(payload: PaymentPayload, requirements: PaymentRequirements, hooks?: SettleHooks): Promise<SettleOutcome>;
  /** For the reconciler: where a submitted transaction stands. Undefined when it cannot tell. */
  lookup?(txHash: string): Promise<TransactionLookup>;
  /** For the reconciler: send a stored envelope again (DUPLICATE if it is already known). */
  resubmit?(envelopeXdr: string): Promise<SendResult>;
}
