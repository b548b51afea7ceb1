import { Address, hash, xdr } from '@stellar/stellar-sdk';
import { applyClassicTransaction } from './classic.js';
import { BASE_FEE_STROOPS } from './constants.js';
import { buildEntry, entryKeyString, i128, i64 } from './entries.js';
import { opSource, type ParsedEnvelope } from './envelope.js';
import { declaredNonRefundableFee, refundableFee } from './fees.js';
import { invokeHostFunction, measure, type Invocation } from './host.js';
import { HostError, type HostFailure } from './host-error.js';
import { appliedResult, invokeResult, txRecord } from './results.js';
import type { LocalnetNetwork } from './network.js';
import type { LedgerState, TxRecord } from './state.js';
import { baseReader } from './view.js';

export interface ApplyContext {
  state: LedgerState;
  ledgerSeq: number;
  closeTime: number;
  applicationOrder: number;
}

/**
 * Applies a transaction that passed validation at close: charge the fee and consume the sequence number
 * (both stick even if the operation fails, as on the network), run the invocation, enforce the declared
 * footprint and resources, refund the unused refundable fee, and record the result and meta.
 */
export function applyTransaction(p: ParsedEnvelope, ctx: ApplyContext): TxRecord {
  if (!p.sorobanData) return applyClassicTransaction(p, ctx);
  const { state, ledgerSeq } = ctx;
  const data = p.sorobanData;
  const op = p.ops[0];
  if (!data || !op) throw new Error('applyTransaction needs a validated Soroban transaction');
  const reader = baseReader(state);
  const accountEntry = (id: string) => buildEntry({ kind: 'account', id }, reader)?.entry;

  const resourceFee = BigInt(data.resourceFee().toString());
  const inclusionFee = BASE_FEE_STROOPS * BigInt(p.ops.length + (p.feeBump ? 1 : 0));
  const upfront = inclusionFee + resourceFee;

  const txChangesBefore: xdr.LedgerEntryChange[] = [];
  const touch = (id: string, mutate: () => void, into: xdr.LedgerEntryChange[]) => {
    const before = accountEntry(id);
    mutate();
    const after = accountEntry(id);
    if (before && after) into.push(xdr.LedgerEntryChange.ledgerEntryState(before), xdr.LedgerEntryChange.ledgerEntryUpdated(after));
  };
  touch(p.feeSource, () => mutateAccount(state, p.feeSource, ledgerSeq, (a) => (a.balance -= upfront)), txChangesBefore);
  touch(
    p.source,
    () =>
      mutateAccount(state, p.source, ledgerSeq, (a) => {
        a.seqNum = p.seqNum;
        a.seqLedger = ledgerSeq;
        a.seqTime = BigInt(ctx.closeTime);
      }),
    txChangesBefore,
  );

  const declaredNonRefundable = declaredNonRefundableFee(data, p.sizeBytes);

  const invokeOp = op.body().invokeHostFunctionOp();
  const inv = invokeHostFunction(invokeOp.hostFunction(), {
    state,
    ledgerSeq,
    sourceAccount: opSource(op, p.source),
    auth: { kind: 'enforce', entries: invokeOp.auth() },
  });
  const outcome = inv.result.ok ? enforceResources(inv, data, resourceFee - declaredNonRefundable) : { ok: false as const, error: inv.result.error };

  let refundable = 0n;
  let opResult: xdr.OperationResult;
  const operations: xdr.OperationMetaV2[] = [];
  let returnValue: xdr.ScVal | null = null;
  let contractEvents: xdr.ContractEvent[] = [];
  if (outcome.ok && inv.result.ok) {
    refundable = outcome.refundable;
    const changes = inv.view.changes();
    inv.view.commit();
    contractEvents = inv.result.events;
    returnValue = inv.result.retval;
    operations.push(new xdr.OperationMetaV2({ ext: new xdr.ExtensionPoint(0), changes, events: contractEvents }));
    const preimage = new xdr.InvokeHostFunctionSuccessPreImage({ returnValue: inv.result.retval, events: contractEvents });
    opResult = invokeResult(xdr.InvokeHostFunctionResult.invokeHostFunctionSuccess(hash(preimage.toXDR())));
  } else {
    opResult = invokeResult(failureResult(outcome.ok ? 'trapped' : outcome.error.failure));
  }

  const refund = resourceFee - declaredNonRefundable - refundable > 0n ? resourceFee - declaredNonRefundable - refundable : 0n;
  const txChangesAfter: xdr.LedgerEntryChange[] = [];
  if (refund > 0n) touch(p.feeSource, () => mutateAccount(state, p.feeSource, ledgerSeq, (a) => (a.balance += refund)), txChangesAfter);
  const feeCharged = upfront - refund;
  const success = outcome.ok;

  const transactionEvents = [feeEvent(state.network, p.feeSource, upfront, xdr.TransactionEventStage.transactionEventStageBeforeAllTxes())];
  if (refund > 0n) transactionEvents.push(feeEvent(state.network, p.feeSource, -refund, xdr.TransactionEventStage.transactionEventStageAfterTx()));

  const meta = new xdr.TransactionMeta(
    4,
    new xdr.TransactionMetaV4({
      ext: new xdr.ExtensionPoint(0),
      txChangesBefore,
      operations,
      txChangesAfter,
      sorobanMeta: new xdr.SorobanTransactionMetaV2({
        ext: new xdr.SorobanTransactionMetaExt(
          1,
          new xdr.SorobanTransactionMetaExtV1({
            ext: new xdr.ExtensionPoint(0),
            totalNonRefundableResourceFeeCharged: i64(declaredNonRefundable),
            totalRefundableResourceFeeCharged: i64(refundable),
            rentFeeCharged: i64(0n),
          }),
        ),
        returnValue,
      }),
      events: transactionEvents,
      diagnosticEvents: [],
    }),
  );
  const result = appliedResult(p, feeCharged, opResult, success);
  return txRecord(p, ctx, {
    success,
    result,
    meta,
    events: {
      diagnosticEventsXdr: inv.diagnosticEvents.map((e) => e.toXDR('base64')),
      contractEventsXdr: [contractEvents.map((e) => e.toXDR('base64'))],
      transactionEventsXdr: transactionEvents.map((e) => e.toXDR('base64')),
    },
  });
}

/**
 * The host refuses to touch an entry outside the declared footprint or to run past the declared budget;
 * a transaction signed after simulation without re-simulating fails here, as it would on the network.
 */
function enforceResources(inv: Invocation, data: xdr.SorobanTransactionData, refundableBudget: bigint): { ok: true; refundable: bigint } | { ok: false; error: HostError } {
  const res = data.resources();
  const declaredRo = new Set(res.footprint().readOnly().map((k) => k.toXDR('base64')));
  const declaredRw = new Set(res.footprint().readWrite().map((k) => k.toXDR('base64')));
  const limit = (detail: string) => ({ ok: false as const, error: new HostError('Storage', 'ExceededLimit', 'resource_limit_exceeded', detail, 'resource_limit_exceeded') });
  for (const ref of inv.footprint.readWrite) {
    if (!declaredRw.has(entryKeyString(ref, inv.view.network))) return limit(`write to ${ref.kind} entry outside the read-write footprint`);
  }
  for (const ref of inv.footprint.readOnly) {
    const k = entryKeyString(ref, inv.view.network);
    if (!declaredRo.has(k) && !declaredRw.has(k)) return limit(`read of ${ref.kind} entry outside the footprint`);
  }
  if (inv.instructions > res.instructions()) return limit(`used ${inv.instructions} instructions, declared ${res.instructions()}`);
  const usage = measure(inv);
  if (usage.diskReadBytes > res.diskReadBytes()) return limit(`read ${usage.diskReadBytes} bytes, declared ${res.diskReadBytes()}`);
  if (usage.writeBytes > res.writeBytes()) return limit(`wrote ${usage.writeBytes} bytes, declared ${res.writeBytes()}`);
  const created = inv.view.newEntryCounts();
  const refundable = refundableFee({ eventsBytes: usage.eventsBytes, newTemporaryEntries: created.temporary, newPersistentEntries: created.persistent });
  if (refundable > refundableBudget) {
    return { ok: false, error: new HostError('Budget', 'ExceededLimit', 'insufficient_refundable_fee', `refundable fee ${refundable} exceeds the ${refundableBudget} left`, 'insufficient_refundable_fee') };
  }
  return { ok: true, refundable };
}

function failureResult(f: HostFailure): xdr.InvokeHostFunctionResult {
  switch (f) {
    case 'resource_limit_exceeded':
      return xdr.InvokeHostFunctionResult.invokeHostFunctionResourceLimitExceeded();
    case 'insufficient_refundable_fee':
      return xdr.InvokeHostFunctionResult.invokeHostFunctionInsufficientRefundableFee();
    case 'trapped':
      return xdr.InvokeHostFunctionResult.invokeHostFunctionTrapped();
  }
}

function mutateAccount(state: LedgerState, id: string, ledgerSeq: number, f: (a: { balance: bigint; seqNum: bigint; seqLedger: number; seqTime: bigint }) => void): void {
  const a = state.accounts.get(id);
  if (!a) throw new Error(`account ${id} vanished between validation and apply`);
  f(a);
  a.lastModified = ledgerSeq;
}

/** CAP-67 fee event: emitted by the native asset contract, topics [fee, payer], data = amount (negative for a refund). */
function feeEvent(net: LocalnetNetwork, payer: string, amount: bigint, stage: xdr.TransactionEventStage): xdr.TransactionEvent {
  return new xdr.TransactionEvent({
    stage,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: Address.fromString(net.nativeSacContract).toBuffer() as unknown as xdr.ContractId,
      type: xdr.ContractEventType.contract(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics: [xdr.ScVal.scvSymbol('fee'), new Address(payer).toScVal()], data: i128(amount) })),
    }),
  });
}
