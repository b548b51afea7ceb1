import { xdr } from '@stellar/stellar-sdk';
import { i64 } from './entries.js';
import type { ParsedEnvelope } from './envelope.js';
import type { TxRecord } from './state.js';
import type { TxCode } from './validate.js';

const TX_CODES: Record<TxCode, () => xdr.TransactionResultResult> = {
  txTOO_EARLY: () => xdr.TransactionResultResult.txTooEarly(),
  txTOO_LATE: () => xdr.TransactionResultResult.txTooLate(),
  txMISSING_OPERATION: () => xdr.TransactionResultResult.txMissingOperation(),
  txBAD_SEQ: () => xdr.TransactionResultResult.txBadSeq(),
  txBAD_AUTH: () => xdr.TransactionResultResult.txBadAuth(),
  txINSUFFICIENT_BALANCE: () => xdr.TransactionResultResult.txInsufficientBalance(),
  txNO_ACCOUNT: () => xdr.TransactionResultResult.txNoAccount(),
  txINSUFFICIENT_FEE: () => xdr.TransactionResultResult.txInsufficientFee(),
  txBAD_AUTH_EXTRA: () => xdr.TransactionResultResult.txBadAuthExtra(),
  txNOT_SUPPORTED: () => xdr.TransactionResultResult.txNotSupported(),
  txBAD_MIN_SEQ_AGE_OR_GAP: () => xdr.TransactionResultResult.txBadMinSeqAgeOrGap(),
  txMALFORMED: () => xdr.TransactionResultResult.txMalformed(),
  txSOROBAN_INVALID: () => xdr.TransactionResultResult.txSorobanInvalid(),
  txINTERNAL_ERROR: () => xdr.TransactionResultResult.txInternalError(),
};

const INNER_CODES: Record<TxCode, () => xdr.InnerTransactionResultResult> = {
  txTOO_EARLY: () => xdr.InnerTransactionResultResult.txTooEarly(),
  txTOO_LATE: () => xdr.InnerTransactionResultResult.txTooLate(),
  txMISSING_OPERATION: () => xdr.InnerTransactionResultResult.txMissingOperation(),
  txBAD_SEQ: () => xdr.InnerTransactionResultResult.txBadSeq(),
  txBAD_AUTH: () => xdr.InnerTransactionResultResult.txBadAuth(),
  txINSUFFICIENT_BALANCE: () => xdr.InnerTransactionResultResult.txInsufficientBalance(),
  txNO_ACCOUNT: () => xdr.InnerTransactionResultResult.txNoAccount(),
  txINSUFFICIENT_FEE: () => xdr.InnerTransactionResultResult.txInsufficientFee(),
  txBAD_AUTH_EXTRA: () => xdr.InnerTransactionResultResult.txBadAuthExtra(),
  txNOT_SUPPORTED: () => xdr.InnerTransactionResultResult.txNotSupported(),
  txBAD_MIN_SEQ_AGE_OR_GAP: () => xdr.InnerTransactionResultResult.txBadMinSeqAgeOrGap(),
  txMALFORMED: () => xdr.InnerTransactionResultResult.txMalformed(),
  txSOROBAN_INVALID: () => xdr.InnerTransactionResultResult.txSorobanInvalid(),
  txINTERNAL_ERROR: () => xdr.InnerTransactionResultResult.txInternalError(),
};

function wrap(p: ParsedEnvelope, feeCharged: bigint, inner: xdr.InnerTransactionResultResult, success: boolean): xdr.TransactionResult {
  const pair = new xdr.InnerTransactionResultPair({
    transactionHash: p.innerHash,
    result: new xdr.InnerTransactionResult({ feeCharged: i64(0n), result: inner, ext: new xdr.InnerTransactionResultExt(0) }),
  });
  return new xdr.TransactionResult({
    feeCharged: i64(feeCharged),
    result: success ? xdr.TransactionResultResult.txFeeBumpInnerSuccess(pair) : xdr.TransactionResultResult.txFeeBumpInnerFailed(pair),
    ext: new xdr.TransactionResultExt(0),
  });
}

/** The result a rejected submission carries in `errorResultXdr`: nothing charged. */
export function rejectionResult(p: ParsedEnvelope, code: TxCode, inner: boolean): xdr.TransactionResult {
  if (p.feeBump && inner) return wrap(p, 0n, INNER_CODES[code](), false);
  return new xdr.TransactionResult({ feeCharged: i64(0n), result: TX_CODES[code](), ext: new xdr.TransactionResultExt(0) });
}

export function appliedResult(p: ParsedEnvelope, feeCharged: bigint, opResult: xdr.OperationResult, success: boolean): xdr.TransactionResult {
  return appliedResultOps(p, feeCharged, [opResult], success);
}

/** The result of an applied transaction with one result per operation (classic transactions carry up to 100). */
export function appliedResultOps(p: ParsedEnvelope, feeCharged: bigint, opResults: xdr.OperationResult[], success: boolean): xdr.TransactionResult {
  if (p.feeBump) {
    return wrap(p, feeCharged, success ? xdr.InnerTransactionResultResult.txSuccess(opResults) : xdr.InnerTransactionResultResult.txFailed(opResults), success);
  }
  return new xdr.TransactionResult({
    feeCharged: i64(feeCharged),
    result: success ? xdr.TransactionResultResult.txSuccess(opResults) : xdr.TransactionResultResult.txFailed(opResults),
    ext: new xdr.TransactionResultExt(0),
  });
}

export function invokeResult(r: xdr.InvokeHostFunctionResult): xdr.OperationResult {
  return xdr.OperationResult.opInner(xdr.OperationResultTr.invokeHostFunction(r));
}

/** The stored record of an applied transaction (what getTransaction answers from), for every kind of transaction. */
export function txRecord(
  p: ParsedEnvelope,
  ctx: { ledgerSeq: number; closeTime: number; applicationOrder: number },
  outcome: { success: boolean; result: xdr.TransactionResult; meta: xdr.TransactionMeta; events?: Pick<TxRecord, 'diagnosticEventsXdr' | 'contractEventsXdr' | 'transactionEventsXdr'> },
): TxRecord {
  return {
    hash: p.hash.toString('hex'),
    status: outcome.success ? 'SUCCESS' : 'FAILED',
    ledger: ctx.ledgerSeq,
    createdAt: ctx.closeTime,
    applicationOrder: ctx.applicationOrder,
    feeBump: p.feeBump !== undefined,
    envelopeXdr: p.envelopeXdr,
    resultXdr: outcome.result.toXDR('base64'),
    resultMetaXdr: outcome.meta.toXDR('base64'),
    ...(outcome.events ?? { diagnosticEventsXdr: [], contractEventsXdr: [], transactionEventsXdr: [] }),
  };
}
