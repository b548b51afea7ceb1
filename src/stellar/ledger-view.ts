import type { xdr } from '@stellar/stellar-sdk';
import type { EncodedSorobanData } from './envelope.js';

/**
 * What payment verification reads from the ledger (x402/verify.ts, steps 15–18). The RPC client
 * implements it; it lives here, below both, so the client never imports verification.
 */
export interface LedgerView {
  latestLedger(): Promise<number>;
  /** Simulates a base64 transaction envelope. */
  simulate(transactionXdr: string): Promise<SimulationOutcome>;
}

export type SimulationOutcome =
  | { ok: true; events: xdr.DiagnosticEvent[]; minResourceFee: bigint; transactionData: EncodedSorobanData; latestLedger: number }
  | { ok: false; error: string };
