import { FeeBumpTransaction, StrKey, Transaction, TransactionBuilder, xdr } from '@stellar/stellar-sdk';

/** A transaction envelope taken apart into what validation and apply need, sources resolved to G addresses. */
export interface ParsedEnvelope {
  envelope: xdr.TransactionEnvelope;
  envelopeXdr: string;
  /** The hash RPC reports: the fee bump's own hash for a fee-bump envelope. */
  hash: Buffer;
  sizeBytes: number;
  feeBump?: { feeSource: string; fee: bigint; signatures: xdr.DecoratedSignature[] };
  innerHash: Buffer;
  innerSignatures: xdr.DecoratedSignature[];
  source: string;
  seqNum: bigint;
  innerFee: bigint;
  ops: xdr.Operation[];
  sorobanData?: xdr.SorobanTransactionData;
  timeBounds?: { minTime: bigint; maxTime: bigint };
  ledgerBounds?: { minLedger: number; maxLedger: number };
  minSeqNum?: bigint;
  minSeqAge: bigint;
  minSeqLedgerGap: number;
  extraSigners: xdr.SignerKey[];
  /** Who pays, and the most it agreed to pay. */
  feeSource: string;
  maxFee: bigint;
}

export class EnvelopeError extends Error {}

export function muxedToAccount(m: xdr.MuxedAccount): string {
  return m.switch().name === 'keyTypeMuxedEd25519' ? StrKey.encodeEd25519PublicKey(m.med25519().ed25519()) : StrKey.encodeEd25519PublicKey(m.ed25519());
}

/** `passphrase` is the network the ledger poses as: the transaction hash, and so every signature, commits to it. */
export function parseEnvelope(base64: string, passphrase: string): ParsedEnvelope {
  let envelope: xdr.TransactionEnvelope;
  let sdkTx: Transaction | FeeBumpTransaction;
  try {
    envelope = xdr.TransactionEnvelope.fromXDR(base64, 'base64');
    sdkTx = TransactionBuilder.fromXDR(envelope, passphrase);
  } catch (err) {
    throw new EnvelopeError(`invalid transaction envelope XDR: ${err instanceof Error ? err.message : String(err)}`);
  }
  const envelopeXdr = envelope.toXDR('base64');
  const sizeBytes = envelope.toXDR().length;
  if (sdkTx instanceof FeeBumpTransaction) {
    const inner = sdkTx.innerTransaction;
    const feeBumpTx = envelope.feeBump().tx();
    return {
      ...innerParts(inner),
      envelope,
      envelopeXdr,
      sizeBytes,
      hash: sdkTx.hash(),
      feeBump: { feeSource: muxedToAccount(feeBumpTx.feeSource()), fee: BigInt(feeBumpTx.fee().toString()), signatures: envelope.feeBump().signatures() },
      feeSource: muxedToAccount(feeBumpTx.feeSource()),
      maxFee: BigInt(feeBumpTx.fee().toString()),
    };
  }
  const parts = innerParts(sdkTx);
  return { ...parts, envelope, envelopeXdr, sizeBytes, hash: parts.innerHash, feeSource: parts.source, maxFee: parts.innerFee };
}

type InnerParts = Omit<ParsedEnvelope, 'envelope' | 'envelopeXdr' | 'sizeBytes' | 'hash' | 'feeBump' | 'feeSource' | 'maxFee'>;

function innerParts(tx: Transaction): InnerParts {
  const env = tx.toEnvelope();
  const isV0 = env.switch().name === 'envelopeTypeTxV0';
  const raw = isV0 ? env.v0().tx() : env.v1().tx();
  const source = isV0 ? StrKey.encodeEd25519PublicKey(env.v0().tx().sourceAccountEd25519()) : muxedToAccount(env.v1().tx().sourceAccount());
  const ext = isV0 ? undefined : env.v1().tx().ext();
  const sorobanData = ext && ext.switch() === 1 ? ext.sorobanData() : undefined;
  const tb = tx.timeBounds;
  const lb = tx.ledgerBounds;
  const extraSigners = !isV0 && env.v1().tx().cond().switch().name === 'precondV2' ? env.v1().tx().cond().v2().extraSigners() : [];
  return {
    innerHash: tx.hash(),
    innerSignatures: tx.signatures,
    source,
    seqNum: BigInt(tx.sequence),
    innerFee: BigInt(raw.fee()),
    ops: raw.operations(),
    ...(sorobanData ? { sorobanData } : {}),
    ...(tb ? { timeBounds: { minTime: BigInt(tb.minTime), maxTime: BigInt(tb.maxTime) } } : {}),
    ...(lb ? { ledgerBounds: { minLedger: lb.minLedger, maxLedger: lb.maxLedger } } : {}),
    ...(tx.minAccountSequence !== undefined ? { minSeqNum: BigInt(tx.minAccountSequence) } : {}),
    minSeqAge: BigInt(tx.minAccountSequenceAge ?? 0),
    minSeqLedgerGap: tx.minAccountSequenceLedgerGap ?? 0,
    extraSigners,
  };
}

export function opSource(op: xdr.Operation, txSource: string): string {
  const src = op.sourceAccount();
  return src ? muxedToAccount(src) : txSource;
}

export function isSorobanOp(op: xdr.Operation): boolean {
  const t = op.body().switch().name;
  return t === 'invokeHostFunction' || t === 'extendFootprintTtl' || t === 'restoreFootprint';
}
