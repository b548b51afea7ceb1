import { createHash } from 'node:crypto';
import { xdr } from '@stellar/stellar-sdk';
import type { NativeSigner } from './ed25519.js';
import { networkId } from './network-id.js';

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

// The transaction is encoded once; the signature payloads and envelopes around it are framed by
// hand from the XDR definitions (Stellar-transaction.x), not re-encoded through js-xdr objects,
// which encoded the whole invocation again for the hash and again for the envelope. The unit test
// pins the bytes to TransactionBuilder + Transaction.sign, plain and fee-bumped.
const ENVELOPE_TYPE_TX = 2;
const ENVELOPE_TYPE_TX_FEE_BUMP = 5;
const KEY_TYPE_ED25519 = 0;

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

/** sha256 of TransactionSignaturePayload {networkId, taggedTransaction: <type, body>}. */
function payloadHash(passphrase: string, envelopeType: number, body: Buffer): Buffer {
  return createHash('sha256').update(networkId(passphrase)).update(int32(envelopeType)).update(body).digest();
}

/** `DecoratedSignature<20>` with one signature: count, hint (opaque[4]), signature (opaque<64>). */
function oneSignature(signer: NativeSigner, hash: Buffer): Buffer {
  const signature = signer.sign(hash);
  return Buffer.concat([int32(1), signer.hint, int32(signature.length), signature]);
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
  }).toXDR();
  const innerHash = payloadHash(args.networkPassphrase, ENVELOPE_TYPE_TX, tx);
  // TransactionV1Envelope {tx, signatures}
  const inner = Buffer.concat([tx, oneSignature(args.source, innerHash)]);
  if (!args.feePayer) {
    return { xdr: Buffer.concat([int32(ENVELOPE_TYPE_TX), inner]).toString('base64'), hash: innerHash.toString('hex') };
  }
  // Fee bump: the outer fee covers one more inclusion fee than the inner, plus the resource fee.
  const resourceFee = BigInt(args.sorobanData.resourceFee().toString());
  const inclusion = args.feeStroops - resourceFee;
  const outerFee = Buffer.alloc(8);
  outerFee.writeBigInt64BE(inclusion * 2n + resourceFee);
  // FeeBumpTransaction {feeSource: MuxedAccount (ed25519), fee, innerTx: <ENVELOPE_TYPE_TX, inner>, ext: v0}
  const bump = Buffer.concat([int32(KEY_TYPE_ED25519), args.feePayer.rawPublicKey, outerFee, int32(ENVELOPE_TYPE_TX), inner, int32(0)]);
  const outerHash = payloadHash(args.networkPassphrase, ENVELOPE_TYPE_TX_FEE_BUMP, bump);
  const envelope = Buffer.concat([int32(ENVELOPE_TYPE_TX_FEE_BUMP), bump, oneSignature(args.feePayer, outerHash)]);
  return { xdr: envelope.toString('base64'), hash: outerHash.toString('hex') };
}
