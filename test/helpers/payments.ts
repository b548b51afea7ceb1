import {
  Account,
  Address,
  Keypair,
  Operation,
  TransactionBuilder,
  authorizeEntry,
  nativeToScVal,
  scValToNative,
  xdr,
  type Transaction,
} from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { PLACEHOLDER_SOURCE } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import type { PaymentPayload, PaymentRequired } from '../../src/protocol/x402.js';

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
  return new xdr.SorobanAuthorizationEntry({
    credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
      new xdr.SorobanAddressCredentials({
        address: Address.fromString(signerAddress).toScAddress(),
        nonce: xdr.Int64.fromString(randomBytes(8).readBigInt64BE().toString()),
        signatureExpirationLedger: 0,
        signature: xdr.ScVal.scvVoid(),
      }),
    ),
    rootInvocation: new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(invoke),
      subInvocations: sub,
    }),
  });
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

/** Deviations for tests that need validly signed but wrong payments (the SDK only ever pays what it is asked). */
export interface PaymentOverrides {
  amount?: bigint;
  payTo?: string;
  asset?: string;
  expirationLedger?: number;
  txSource?: string;
}

/**
 * `base` made again with the deviations: the transfer's asset, recipient or amount, the auth
 * entry's expiration, the transaction's source. The entry is signed again by `signer` (a fresh
 * nonce), so the payment is validly signed and wrong only where the test says.
 */
export async function deviate(base: PaymentPayload, signer: Keypair, overrides: PaymentOverrides): Promise<PaymentPayload> {
  if (Object.keys(overrides).length === 0) return base;
  const op = invokeOpOf(base);
  const call = op.func.invokeContract();
  const [, to, amount] = call.args();
  const invoke = transferArgs(
    overrides.asset ?? Address.fromScAddress(call.contractAddress()).toString(),
    signer.publicKey(),
    overrides.payTo ?? (scValToNative(to!) as string),
    overrides.amount ?? (scValToNative(amount!) as bigint),
  );
  const expiration = overrides.expirationLedger ?? op.auth![0]!.credentials().address().signatureExpirationLedger();
  const entry = await sign(unsignedEntry(invoke, signer.publicKey()), signer, expiration);
  return withTransaction(base, txXdr([hostOp(invoke, [entry])], overrides.txSource ? { source: overrides.txSource } : {}));
}

/** A payment signed locally, with no ledger: the transfer the challenge asks for, its entry expiring at `expirationLedger`. */
export async function offlinePayment(
  required: PaymentRequired,
  signer: Keypair,
  opts: { expirationLedger: number; networkPassphrase?: string },
): Promise<PaymentPayload> {
  const requirements = required.accepts[0]!;
  const invoke = transferArgs(requirements.asset, signer.publicKey(), requirements.payTo, BigInt(requirements.amount));
  const entry = await authorizeEntry(unsignedEntry(invoke, signer.publicKey()), signer, opts.expirationLedger, opts.networkPassphrase ?? PASSPHRASE);
  return { x402Version: 2, resource: required.resource, accepted: requirements, payload: { transaction: txXdr([hostOp(invoke, [entry])]) } };
}
