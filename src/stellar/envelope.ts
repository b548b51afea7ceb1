import { createHash } from 'node:crypto';
import { xdr } from '@stellar/stellar-sdk';
import type { NativeSigner } from './ed25519.js';

/**
 * Builds and signs a one-operation Soroban transaction envelope directly in XDR: what
 * TransactionBuilder + Transaction.sign produce, without their intermediate objects (the hot path
 * of every settlement). The hash is sha256 of the TransactionSignaturePayload, as the network's.
 */
export interface SignedEnvelope {
  /** base64 TransactionEnvelope */
  xdr: string;
  /** hex transaction hash (of the outer envelope for fee bumps, as the network reports it) */
  hash: string;
}

/** Inclusion fee bid per operation, as TransactionBuilder's BASE_FEE. */
export const BASE_INCLUSION_FEE_STROOPS = 100n;

// StrKey decoding goes through base32.js, whose Buffer() calls trip Node's deprecation check (a
// stack capture) every time: the hot path uses the signers' raw keys instead.
function muxed(signer: NativeSigner): xdr.MuxedAccount {
  return xdr.MuxedAccount.keyTypeEd25519(signer.rawPublicKey);
}

function networkId(passphrase: string): Buffer {
  return createHash('sha256').update(passphrase, 'utf8').digest();
}

function payloadHash(passphrase: string, tagged: xdr.TransactionSignaturePayloadTaggedTransaction): Buffer {
  const payload = new xdr.TransactionSignaturePayload({ networkId: networkId(passphrase), taggedTransaction: tagged });
  return createHash('sha256').update(payload.toXDR()).digest();
}

function decorated(signer: NativeSigner, hash: Buffer): xdr.DecoratedSignature {
  return new xdr.DecoratedSignature({ hint: signer.hint, signature: signer.sign(hash) });
}

export function buildInvokeEnvelope(args: {
  source: NativeSigner;
  /** The sequence number this transaction uses (the account's current + 1). */
  sequence: bigint;
  feeStroops: bigint;
  maxTimeUnixSeconds: number;
  hostFunction: xdr.HostFunction;
  auth: xdr.SorobanAuthorizationEntry[];
  sorobanData: xdr.SorobanTransactionData;
  networkPassphrase: string;
  /** When set, the signed transaction is wrapped in a fee bump this account pays for. */
  feePayer?: NativeSigner | undefined;
}): SignedEnvelope {
  const tx = new xdr.Transaction({
    sourceAccount: muxed(args.source),
    fee: Number(args.feeStroops),
    seqNum: xdr.Int64.fromString(args.sequence.toString()),
    cond: xdr.Preconditions.precondTime(
      new xdr.TimeBounds({ minTime: xdr.Uint64.fromString('0'), maxTime: xdr.Uint64.fromString(String(args.maxTimeUnixSeconds)) }),
    ),
    memo: xdr.Memo.memoNone(),
    operations: [
      new xdr.Operation({
        sourceAccount: null,
        body: xdr.OperationBody.invokeHostFunction(new xdr.InvokeHostFunctionOp({ hostFunction: args.hostFunction, auth: args.auth })),
      }),
    ],
    ext: new xdr.TransactionExt(1, args.sorobanData),
  });
  const innerHash = payloadHash(args.networkPassphrase, xdr.TransactionSignaturePayloadTaggedTransaction.envelopeTypeTx(tx));
  const inner = new xdr.TransactionV1Envelope({ tx, signatures: [decorated(args.source, innerHash)] });
  if (!args.feePayer) {
    return { xdr: xdr.TransactionEnvelope.envelopeTypeTx(inner).toXDR('base64'), hash: innerHash.toString('hex') };
  }
  // Fee bump: the outer fee covers one more inclusion fee than the inner, plus the resource fee.
  const resourceFee = BigInt(args.sorobanData.resourceFee().toString());
  const inclusion = args.feeStroops - resourceFee;
  const bump = new xdr.FeeBumpTransaction({
    feeSource: muxed(args.feePayer),
    fee: xdr.Int64.fromString((inclusion * 2n + resourceFee).toString()),
    innerTx: xdr.FeeBumpTransactionInnerTx.envelopeTypeTx(inner),
    ext: new xdr.FeeBumpTransactionExt(0),
  });
  const outerHash = payloadHash(args.networkPassphrase, xdr.TransactionSignaturePayloadTaggedTransaction.envelopeTypeTxFeeBump(bump));
  const envelope = xdr.TransactionEnvelope.envelopeTypeTxFeeBump(
    new xdr.FeeBumpTransactionEnvelope({ tx: bump, signatures: [decorated(args.feePayer, outerHash)] }),
  );
  return { xdr: envelope.toXDR('base64'), hash: outerHash.toString('hex') };
}
