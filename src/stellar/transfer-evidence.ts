import { xdr } from '@stellar/stellar-sdk';
import type { TransactionDetail } from './rpc.js';
import { readContractEvent } from './scval.js';

/**
 * What proves that a payment reached us (docs/ARCHITECTURE.md, "What proves a payment"): a
 * successful transaction that carries, byte for byte, the auth entry the payer signed, and that
 * emitted the asset's `transfer` event from the payer to payTo for the exact amount. Nothing less:
 * a spent nonce, a facilitator's word or a transfer authorised by another entry prove nothing.
 */
export interface ExpectedTransfer {
  /** The asset's contract (C...). */
  asset: string;
  from: string;
  to: string;
  amount: bigint;
  /** The payer's signed SorobanAuthorizationEntry, as XDR bytes. */
  authEntry: Buffer;
}

/** The payer's one signed auth entry in the payment's transaction (base64 TransactionEnvelope), as XDR bytes. */
export function signedAuthEntryOf(paymentXdr: string): Buffer | undefined {
  try {
    const auth = invokeAuthOf(xdr.TransactionEnvelope.fromXDR(paymentXdr, 'base64'));
    const addressed = auth?.filter((entry) => entry.credentials().switch() === xdr.SorobanCredentialsType.sorobanCredentialsAddress());
    return addressed?.length === 1 ? addressed[0]!.toXDR() : undefined;
  } catch {
    return undefined;
  }
}

/** The auth entries of an envelope's single invokeHostFunction operation (a fee bump's inner one); else undefined. */
function invokeAuthOf(envelope: xdr.TransactionEnvelope): xdr.SorobanAuthorizationEntry[] | undefined {
  let tx: xdr.Transaction;
  switch (envelope.switch()) {
    case xdr.EnvelopeType.envelopeTypeTx():
      tx = envelope.v1().tx();
      break;
    case xdr.EnvelopeType.envelopeTypeTxFeeBump():
      tx = envelope.feeBump().tx().innerTx().v1().tx();
      break;
    default:
      return undefined;
  }
  const ops = tx.operations();
  if (ops.length !== 1 || ops[0]!.body().switch() !== xdr.OperationType.invokeHostFunction()) return undefined;
  return ops[0]!.body().invokeHostFunctionOp().auth();
}

/** Whether `detail` is the transaction that moved this payment's money; see the module comment. */
export function provesTransfer(detail: TransactionDetail, expected: ExpectedTransfer): boolean {
  if (detail.status !== 'SUCCESS') return false;
  let auth: xdr.SorobanAuthorizationEntry[] | undefined;
  try {
    auth = invokeAuthOf(xdr.TransactionEnvelope.fromXDR(detail.envelopeXdr, 'base64'));
  } catch {
    return false;
  }
  if (!auth?.some((entry) => entry.toXDR().equals(expected.authEntry))) return false;
  return detail.contractEvents.some((event) => isExpectedTransfer(event, expected));
}

function isExpectedTransfer(event: xdr.ContractEvent, expected: Omit<ExpectedTransfer, 'authEntry'>): boolean {
  if (event.type() !== xdr.ContractEventType.contract()) return false;
  const { transfer } = readContractEvent(event);
  return (
    transfer !== undefined &&
    transfer.contract === expected.asset &&
    transfer.from === expected.from &&
    transfer.to === expected.to &&
    transfer.amount === expected.amount
  );
}

/**
 * getEvents topic filter for the asset's transfers from `from` to `to`: [transfer, from, to, **]
 * (`**` takes CAP-67's fourth topic, the SEP-11 asset name, and its absence on older ledgers).
 */
export function transferTopics(from: xdr.ScVal, to: xdr.ScVal): string[] {
  return [xdr.ScVal.scvSymbol('transfer').toXDR('base64'), from.toXDR('base64'), to.toXDR('base64'), '**'];
}
