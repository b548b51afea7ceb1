import { Address, xdr } from '@stellar/stellar-sdk';
import { AuthManager, type AuthMode } from './auth.js';
import { buildEntry, entryKey, entryKeyString, type EntryRef } from './entries.js';
import { HostError } from './host-error.js';
import type { LocalnetNetwork } from './network.js';
import { invokeSac } from './sac.js';
import { LedgerView } from './view.js';
import type { LedgerState } from './state.js';

export interface InvocationContext {
  state: LedgerState;
  /** The ledger the invocation runs in: the next one to close. */
  ledgerSeq: number;
  sourceAccount: string;
  auth: AuthMode;
}

export interface Footprint {
  readOnly: EntryRef[];
  readWrite: EntryRef[];
}

export interface Invocation {
  view: LedgerView;
  footprint: Footprint;
  instructions: number;
  diagnosticEvents: xdr.DiagnosticEvent[];
  recordedAuth: xdr.SorobanAuthorizationEntry[];
  result: { ok: true; retval: xdr.ScVal; events: xdr.ContractEvent[] } | { ok: false; error: HostError };
}

/**
 * Runs one InvokeHostFunction against a copy-on-write view. Simulation and apply share this, so what
 * simulation promises is exactly what apply does; nothing is written to the state until `view.commit()`.
 */
export function invokeHostFunction(fn: xdr.HostFunction, ctx: InvocationContext): Invocation {
  const net = ctx.state.network;
  const view = new LedgerView(ctx.state, ctx.ledgerSeq);
  const auth = new AuthManager(ctx.auth, { view, networkId: net.networkId, sourceAccount: ctx.sourceAccount, ledgerSeq: ctx.ledgerSeq });
  const diagnosticEvents: xdr.DiagnosticEvent[] = [];
  let result: Invocation['result'];
  let instructions = 0;
  try {
    if (fn.switch().name !== 'hostFunctionTypeInvokeContract') {
      throw new HostError('Context', 'InvalidAction', 'host_function_not_supported', `the local ledger only runs contract invocations, not ${fn.switch().name}`);
    }
    const call = fn.invokeContract();
    const contract = safeAddress(call.contractAddress());
    if (contract !== net.usdcContract) {
      throw new HostError('Storage', 'MissingValue', 'contract_not_found', `contract ${contract} does not exist on the local ledger`);
    }
    diagnosticEvents.push(fnCall(net, call));
    const out = invokeSac({ view, auth, call });
    instructions = out.instructions;
    diagnosticEvents.push(...out.events.map((event) => new xdr.DiagnosticEvent({ inSuccessfulContractCall: true, event })));
    diagnosticEvents.push(fnReturn(net, call.functionName().toString(), out.retval));
    result = { ok: true, retval: out.retval, events: out.events };
  } catch (err) {
    const error = err instanceof HostError ? err : new HostError('Value', 'InvalidInput', 'invalid_invocation', err instanceof Error ? err.message : String(err));
    diagnosticEvents.push(errorEvent(error));
    result = { ok: false, error };
  }
  return {
    view,
    footprint: { readOnly: sortRefs(net, [...view.readOnly.values()]), readWrite: sortRefs(net, [...view.readWrite.values()]) },
    instructions: instructions + auth.instructions,
    diagnosticEvents,
    recordedAuth: auth.recorded,
    result,
  };
}

export interface ResourceUsage {
  diskReadBytes: number;
  writeBytes: number;
  eventsBytes: number;
}

/**
 * Bytes the invocation reads from disk (classic entries, which live in the bucket list rather than in the
 * Soroban in-memory state) and writes (every written entry, as it is after the call).
 */
export function measure(inv: Invocation): ResourceUsage {
  const before = inv.view.before();
  let diskReadBytes = 0;
  for (const ref of [...inv.footprint.readOnly, ...inv.footprint.readWrite]) {
    if (ref.kind !== 'account' && !(ref.kind === 'usdc' && ref.holder.startsWith('G'))) continue;
    const built = buildEntry(ref, before);
    if (built) diskReadBytes += built.entry.toXDR().length;
  }
  let writeBytes = 0;
  for (const ref of inv.footprint.readWrite) {
    const built = buildEntry(ref, inv.view);
    if (built) writeBytes += built.entry.toXDR().length;
  }
  let eventsBytes = 0;
  if (inv.result.ok) {
    eventsBytes += inv.result.retval.toXDR().length;
    for (const e of inv.result.events) eventsBytes += e.toXDR().length;
  }
  return { diskReadBytes, writeBytes, eventsBytes };
}

export function footprintXdr(fp: Footprint, net: LocalnetNetwork): xdr.LedgerFootprint {
  const key = (ref: EntryRef) => entryKey(ref, net);
  return new xdr.LedgerFootprint({ readOnly: fp.readOnly.map(key), readWrite: fp.readWrite.map(key) });
}

function sortRefs(net: LocalnetNetwork, refs: EntryRef[]): EntryRef[] {
  return refs
    .map((ref) => ({ ref, key: Buffer.from(entryKeyString(ref, net), 'base64') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((x) => x.ref);
}

function safeAddress(a: xdr.ScAddress): string {
  try {
    return Address.fromScAddress(a).toString();
  } catch {
    throw new HostError('Value', 'UnexpectedType', 'invalid_address', 'unsupported contract address');
  }
}

function diagnostic(topics: xdr.ScVal[], data: xdr.ScVal, contractId: Buffer | null, inSuccessfulContractCall: boolean): xdr.DiagnosticEvent {
  return new xdr.DiagnosticEvent({
    inSuccessfulContractCall,
    event: new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      contractId: contractId as unknown as xdr.ContractId | null,
      type: xdr.ContractEventType.diagnostic(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data })),
    }),
  });
}

function fnCall(net: LocalnetNetwork, call: xdr.InvokeContractArgs): xdr.DiagnosticEvent {
  return diagnostic(
    [xdr.ScVal.scvSymbol('fn_call'), xdr.ScVal.scvBytes(net.usdcContractId), xdr.ScVal.scvSymbol(call.functionName().toString())],
    xdr.ScVal.scvVec(call.args()),
    null,
    true,
  );
}

function fnReturn(net: LocalnetNetwork, name: string, retval: xdr.ScVal): xdr.DiagnosticEvent {
  return diagnostic([xdr.ScVal.scvSymbol('fn_return'), xdr.ScVal.scvSymbol(name)], retval, net.usdcContractId, true);
}

function errorEvent(error: HostError): xdr.DiagnosticEvent {
  return diagnostic([xdr.ScVal.scvSymbol('error'), xdr.ScVal.scvError(error.toScError())], xdr.ScVal.scvString(error.message), null, false);
}
