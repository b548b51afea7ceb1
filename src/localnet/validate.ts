import { StrKey, xdr } from '@stellar/stellar-sdk';
import { BASE_FEE_STROOPS, BASE_RESERVE_STROOPS, MAX_SIGNATURES } from './constants.js';
import { verifyEd25519 } from '../stellar/ed25519.js';
import { isSorobanOp, opSource, type ParsedEnvelope } from './envelope.js';
import { declaredNonRefundableFee } from './fees.js';
import type { AccountState, LedgerState } from './state.js';

/** Transaction-level result codes, named as in TransactionResultCode. */
export type TxCode =
  | 'txTOO_EARLY'
  | 'txTOO_LATE'
  | 'txMISSING_OPERATION'
  | 'txBAD_SEQ'
  | 'txBAD_AUTH'
  | 'txINSUFFICIENT_BALANCE'
  | 'txNO_ACCOUNT'
  | 'txINSUFFICIENT_FEE'
  | 'txBAD_AUTH_EXTRA'
  | 'txNOT_SUPPORTED'
  | 'txBAD_MIN_SEQ_AGE_OR_GAP'
  | 'txMALFORMED'
  | 'txSOROBAN_INVALID'
  | 'txINTERNAL_ERROR';

export interface ValidationContext {
  state: LedgerState;
  /** The ledger the transaction would be applied in. */
  ledgerSeq: number;
  closeTime: number;
  /**
   * The envelope's signatures were verified when it was queued. Accounts here have only their
   * master key (no signers or thresholds to change), so they cannot have become invalid since:
   * the close skips verifying them again (ed25519 verification was the ledger's largest single
   * cost per settled payment under bench/scale).
   */
  signaturesVerified?: boolean;
}

/** `inner` set when a fee bump's inner transaction is what failed (reported as txFEE_BUMP_INNER_FAILED). */
export type Validation = { ok: true } | { ok: false; code: TxCode; inner: boolean; detail: string };

export function minBalance(state: LedgerState, id: string): bigint {
  const subEntries = state.usdc.has(id) ? 1n : 0n;
  return (2n + subEntries) * BASE_RESERVE_STROOPS;
}

export function availableBalance(state: LedgerState, id: string, account: AccountState): bigint {
  return account.balance - minBalance(state, id);
}

/**
 * The checks stellar-core makes before a transaction may enter the queue or a ledger, in core's order.
 * Run at send time (against the current state) and again at close (against the state then).
 */
export function validateEnvelope(p: ParsedEnvelope, ctx: ValidationContext): Validation {
  const fail = (code: TxCode, detail: string, inner = p.feeBump !== undefined): Validation => ({ ok: false, code, inner, detail });
  const { state } = ctx;
  const opsCount = BigInt(p.ops.length);
  const resourceFee = p.sorobanData ? BigInt(p.sorobanData.resourceFee().toString()) : 0n;

  if (p.feeBump) {
    const fb = p.feeBump;
    const minOuter = BASE_FEE_STROOPS * (opsCount + 1n) + resourceFee;
    if (fb.fee < minOuter) return fail('txINSUFFICIENT_FEE', `fee bump fee ${fb.fee} is below ${minOuter}`, false);
    const innerInclusion = p.innerFee - resourceFee;
    // The fee bump must bid at least the inner transaction's inclusion fee rate.
    if (innerInclusion > 0n && (fb.fee - resourceFee) * opsCount < innerInclusion * (opsCount + 1n)) {
      return fail('txINSUFFICIENT_FEE', 'fee bump bids a lower fee rate than its inner transaction', false);
    }
    const feeAccount = state.accounts.get(fb.feeSource);
    if (!feeAccount) return fail('txNO_ACCOUNT', `fee source ${fb.feeSource} does not exist`, false);
    const sigs = ctx.signaturesVerified ? undefined : checkSignatures(p.hash, fb.signatures, [fb.feeSource]);
    if (sigs) return fail(sigs, 'fee bump signatures do not match its fee source', false);
    if (availableBalance(state, fb.feeSource, feeAccount) < fb.fee) return fail('txINSUFFICIENT_BALANCE', `fee source cannot pay ${fb.fee}`, false);
  }

  if (p.ops.length === 0) return fail('txMISSING_OPERATION', 'no operations');
  const sorobanOps = p.ops.filter(isSorobanOp).length;
  if (sorobanOps > 0 && (p.ops.length !== 1 || !p.sorobanData)) {
    return fail('txMALFORMED', 'a Soroban operation must be alone in its transaction and carry SorobanTransactionData');
  }
  if (sorobanOps === 0 && p.sorobanData) return fail('txMALFORMED', 'SorobanTransactionData on a classic transaction');
  if (sorobanOps === 0) {
    // Classic: what channel accounts need (created and topped up from a funding account).
    if (p.ops.length > MAX_CLASSIC_OPS) return fail('txMALFORMED', `more than ${MAX_CLASSIC_OPS} operations`);
    for (const op of p.ops) {
      const unsupported = unsupportedClassicOp(op);
      if (unsupported) return fail('txNOT_SUPPORTED', unsupported);
    }
  } else if (p.ops[0]?.body().switch().name !== 'invokeHostFunction') {
    return fail('txNOT_SUPPORTED', 'only InvokeHostFunction is supported');
  }

  if (p.timeBounds) {
    if (p.timeBounds.minTime > BigInt(ctx.closeTime)) return fail('txTOO_EARLY', `valid from ${p.timeBounds.minTime}`);
    if (p.timeBounds.maxTime !== 0n && p.timeBounds.maxTime < BigInt(ctx.closeTime)) return fail('txTOO_LATE', `valid until ${p.timeBounds.maxTime}`);
  }
  if (p.ledgerBounds) {
    if (p.ledgerBounds.minLedger > ctx.ledgerSeq) return fail('txTOO_EARLY', `valid from ledger ${p.ledgerBounds.minLedger}`);
    if (p.ledgerBounds.maxLedger !== 0 && p.ledgerBounds.maxLedger <= ctx.ledgerSeq) return fail('txTOO_LATE', `valid before ledger ${p.ledgerBounds.maxLedger}`);
  }

  const data = p.sorobanData;
  if (data) {
    if (resourceFee < 0n) return fail('txSOROBAN_INVALID', 'negative resource fee');
    const declared = declaredNonRefundableFee(data, p.sizeBytes);
    if (resourceFee < declared) return fail('txSOROBAN_INVALID', `resource fee ${resourceFee} does not cover the declared resources (${declared})`);
  }
  if (!p.feeBump) {
    const minFee = BASE_FEE_STROOPS * opsCount + resourceFee;
    if (p.innerFee < minFee) return fail('txINSUFFICIENT_FEE', `fee ${p.innerFee} is below inclusion ${BASE_FEE_STROOPS * opsCount} + resource fee ${resourceFee}`);
  }

  const account = state.accounts.get(p.source);
  if (!account) return fail('txNO_ACCOUNT', `source account ${p.source} does not exist`);
  if (p.minSeqNum !== undefined) {
    if (account.seqNum < p.minSeqNum || p.seqNum <= account.seqNum) return fail('txBAD_SEQ', `sequence ${p.seqNum} with minSeqNum ${p.minSeqNum}, account at ${account.seqNum}`);
  } else if (p.seqNum !== account.seqNum + 1n) {
    return fail('txBAD_SEQ', `sequence ${p.seqNum} is not account sequence ${account.seqNum} + 1`);
  }
  if (p.minSeqAge > 0n && BigInt(ctx.closeTime) - account.seqTime < p.minSeqAge) return fail('txBAD_MIN_SEQ_AGE_OR_GAP', 'minSeqAge not reached');
  if (p.minSeqLedgerGap > 0 && ctx.ledgerSeq - account.seqLedger < p.minSeqLedgerGap) return fail('txBAD_MIN_SEQ_AGE_OR_GAP', 'minSeqLedgerGap not reached');

  const signers = new Set<string>([p.source]);
  for (const op of p.ops) {
    const src = opSource(op, p.source);
    if (!state.accounts.has(src)) return fail('txNO_ACCOUNT', `operation source ${src} does not exist`);
    signers.add(src);
  }
  for (const extra of p.extraSigners) {
    if (extra.switch().name !== 'signerKeyTypeEd25519') return fail('txBAD_AUTH', 'only ed25519 extra signers are supported');
    signers.add(StrKey.encodeEd25519PublicKey(extra.ed25519()));
  }
  const sigs = ctx.signaturesVerified ? undefined : checkSignatures(p.innerHash, p.innerSignatures, [...signers]);
  if (sigs) return fail(sigs, 'transaction signatures do not match its source accounts');

  if (!p.feeBump && availableBalance(state, p.source, account) < p.innerFee) {
    return fail('txINSUFFICIENT_BALANCE', `source cannot pay the fee ${p.innerFee}`);
  }
  return { ok: true };
}

/**
 * Each required signer needs a signature by its master key over the hash (accounts here have no other
 * signers); a signature nobody needed is txBAD_AUTH_EXTRA, as in core.
 */
function checkSignatures(txHash: Buffer, signatures: xdr.DecoratedSignature[], required: string[]): TxCode | undefined {
  if (signatures.length > MAX_SIGNATURES) return 'txBAD_AUTH';
  const used = new Set<number>();
  for (const signer of required) {
    const raw = StrKey.decodeEd25519PublicKey(signer);
    const hint = raw.subarray(28);
    const idx = signatures.findIndex((s, i) => !used.has(i) && s.hint().equals(hint) && verifyEd25519(raw, txHash, s.signature()));
    if (idx < 0) return 'txBAD_AUTH';
    used.add(idx);
  }
  return used.size === signatures.length ? undefined : 'txBAD_AUTH_EXTRA';
}

/** A classic transaction carries at most this many operations (core's MAX_OPS_PER_TX). */
export const MAX_CLASSIC_OPS = 100;

/**
 * The classic operations the local ledger applies: what card402 needs to create and top up its
 * channel accounts from a funding account (`createAccount`, and `payment` in XLM). Anything else
 * classic is `txNOT_SUPPORTED`.
 */
export function unsupportedClassicOp(op: xdr.Operation): string | undefined {
  const kind = op.body().switch().name;
  if (kind === 'createAccount') return undefined;
  if (kind === 'payment') {
    return op.body().paymentOp().asset().switch().name === 'assetTypeNative' ? undefined : 'only XLM payments are supported';
  }
  return `operation ${kind} is not supported (createAccount, XLM payment and InvokeHostFunction are)`;
}
