import {
  Account,
  Address,
  Keypair,
  Operation,
  TransactionBuilder,
  authorizeEntry,
  nativeToScVal,
  xdr,
  type Transaction,
} from '@stellar/stellar-sdk';
import { PLACEHOLDER_SOURCE, unsignedAuthEntry } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import type { PaymentPayload } from '../../src/protocol/x402.js';

/** Low-level pieces to hand-craft (mis)signed payments for rejection tests. */
export const PASSPHRASE = LOCALNET_PASSPHRASE;

export function txOf(payload: PaymentPayload): Transaction {
  return TransactionBuilder.fromXDR(payload.payload.transaction, PASSPHRASE) as Transaction;
}

export function invokeOpOf(payload: PaymentPayload): Operation.InvokeHostFunction {
  return txOf(payload).operations[0] as Operation.InvokeHostFunction;
}

export function transferArgs(asset: string, from: string, to: string, amount: bigint, fn = 'transfer', amountType = 'i128'): xdr.InvokeContractArgs {
  return new xdr.InvokeContractArgs({
    contractAddress: Address.fromString(asset).toScAddress(),
    functionName: fn,
    args: [nativeToScVal(from, { type: 'address' }), nativeToScVal(to, { type: 'address' }), nativeToScVal(amount, { type: amountType })],
  });
}

export function unsignedEntry(
  invoke: xdr.InvokeContractArgs,
  signerAddress: string,
  sub: xdr.SorobanAuthorizedInvocation[] = [],
): xdr.SorobanAuthorizationEntry {
  return unsignedAuthEntry(invoke, signerAddress, sub);
}

export function sign(entry: xdr.SorobanAuthorizationEntry, signer: Keypair, expiration: number): Promise<xdr.SorobanAuthorizationEntry> {
  return authorizeEntry(entry, signer, expiration, PASSPHRASE);
}

/** A whole transaction (placeholder source unless told) around these operations. */
export function txXdr(ops: xdr.Operation[], opts: { source?: string; fee?: string } = {}): string {
  const builder = new TransactionBuilder(new Account(opts.source ?? PLACEHOLDER_SOURCE, '0'), {
    fee: opts.fee ?? '100',
    networkPassphrase: PASSPHRASE,
  });
  for (const op of ops) builder.addOperation(op);
  return builder.setTimeout(60).build().toXDR();
}

export function hostOp(invoke: xdr.InvokeContractArgs, auth: xdr.SorobanAuthorizationEntry[], source?: string): xdr.Operation {
  return Operation.invokeHostFunction({ func: xdr.HostFunction.hostFunctionTypeInvokeContract(invoke), auth, ...(source ? { source } : {}) });
}

export function withTransaction(payload: PaymentPayload, transaction: string): PaymentPayload {
  return { ...payload, payload: { transaction } };
}
