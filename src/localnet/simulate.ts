import { xdr } from '@stellar/stellar-sdk';
import type { AuthMode } from './auth.js';
import { opSource, type ParsedEnvelope } from './envelope.js';
import { nonRefundableFee, refundableFee } from './fees.js';
import { footprintXdr, invokeHostFunction, measure } from './host.js';
import { i64 } from './entries.js';
import type { LedgerState } from './state.js';

export type SimulateAuthMode = 'enforce' | 'record' | 'record_allow_nonroot';

export interface SimulateRequest {
  envelope: ParsedEnvelope;
  authMode?: SimulateAuthMode;
  instructionLeeway?: number;
}

// Room for what is added after simulation: the envelope signature and the signed auth entries' signatures.
const TX_SIZE_MARGIN_BYTES = 400;
// Simulation pads the instruction estimate, as soroban-rpc does, so small variations never fail at apply.
const DEFAULT_INSTRUCTION_LEEWAY = 50_000;

export type SimulateResponse =
  | { error: string; events: string[]; latestLedger: number }
  | {
      transactionData: string;
      minResourceFee: string;
      events: string[];
      results: { auth: string[]; xdr: string }[];
      cost: { cpuInsns: string; memBytes: string };
      latestLedger: number;
    };

/** simulateTransaction: run the invocation against the latest state without keeping anything. */
export function simulateTransaction(state: LedgerState, req: SimulateRequest): SimulateResponse {
  const latestLedger = state.latest.sequence;
  const p = req.envelope;
  const op = p.ops[0];
  if (p.ops.length !== 1 || !op || op.body().switch().name !== 'invokeHostFunction') {
    return { error: 'simulation needs a transaction with exactly one InvokeHostFunction operation', events: [], latestLedger };
  }
  const invokeOp = op.body().invokeHostFunctionOp();
  const existing = invokeOp.auth();
  const mode = req.authMode ?? (existing.length > 0 ? 'enforce' : 'record');
  const auth: AuthMode = mode === 'enforce' ? { kind: 'enforce', entries: existing } : { kind: 'record' };
  const inv = invokeHostFunction(invokeOp.hostFunction(), { state, ledgerSeq: latestLedger + 1, sourceAccount: opSource(op, p.source), auth });
  const events = inv.diagnosticEvents.map((e) => e.toXDR('base64'));
  if (!inv.result.ok) return { error: inv.result.error.message, events, latestLedger };

  const usage = measure(inv);
  const instructions = inv.instructions + (req.instructionLeeway ?? DEFAULT_INSTRUCTION_LEEWAY);
  const resources = new xdr.SorobanResources({
    footprint: footprintXdr(inv.footprint, state.network),
    instructions,
    diskReadBytes: usage.diskReadBytes,
    writeBytes: usage.writeBytes,
  });
  const authBytes = inv.recordedAuth.reduce((n, e) => n + e.toXDR().length, 0);
  const draft = new xdr.SorobanTransactionData({ ext: new xdr.SorobanTransactionDataExt(0), resources, resourceFee: i64(0n) });
  const txSizeBytes = p.sizeBytes - (p.sorobanData?.toXDR().length ?? 0) + draft.toXDR().length + authBytes + TX_SIZE_MARGIN_BYTES;
  const created = inv.view.newEntryCounts();
  const fee =
    nonRefundableFee({
      instructions,
      diskReadBytes: usage.diskReadBytes,
      writeBytes: usage.writeBytes,
      readEntries: inv.footprint.readOnly.length + inv.footprint.readWrite.length,
      writeEntries: inv.footprint.readWrite.length,
      txSizeBytes,
    }) + refundableFee({ eventsBytes: usage.eventsBytes, newTemporaryEntries: created.temporary, newPersistentEntries: created.persistent });
  const transactionData = new xdr.SorobanTransactionData({ ext: new xdr.SorobanTransactionDataExt(0), resources, resourceFee: i64(fee) });
  return {
    transactionData: transactionData.toXDR('base64'),
    minResourceFee: fee.toString(),
    events,
    results: [{ auth: inv.recordedAuth.map((e) => e.toXDR('base64')), xdr: inv.result.retval.toXDR('base64') }],
    cost: { cpuInsns: String(inv.instructions), memBytes: String(inv.instructions / 4) },
    latestLedger,
  };
}
