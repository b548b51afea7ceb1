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

/** SorobanTransactionData as the RPC's simulation returned it (decoded once there, to check it). */
export interface EncodedSorobanData {
  xdr: Buffer;
  resourceFee: bigint;
}

// The transaction is framed by hand from the XDR definitions (Stellar-transaction.x): only the
// payer's invocation goes through js-xdr, and the simulation's resources go in as the bytes the RPC
// sent; the signature payloads and envelopes around it are framed the same way. js-xdr encoding
// was the largest part of building a settlement. The unit test pins the bytes to
// TransactionBuilder + Transaction.sign, plain and fee-bumped.
const ENVELOPE_TYPE_TX = 2;
const ENVELOPE_TYPE_TX_FEE_BUMP = 5;
const KEY_TYPE_ED25519 = 0;
const PRECOND_TIME = 1;
const MEMO_NONE = 0;
const INVOKE_HOST_FUNCTION = 24;
const TRANSACTION_EXT_SOROBAN = 1;

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

/** Transaction {source, fee, seqNum, cond: time bounds [0, maxTime], memo: none, [op], ext: v1 sorobanData}. */
function transactionBytes(args: { source: NativeSigner; feeStroops: bigint; sequence: bigint; maxTimeUnixSeconds: number; invocation: Buffer; sorobanData: Buffer }): Buffer {
  const head = Buffer.alloc(4 + 32 + 4 + 8 + 4 + 16 + 4 + 4 + 4 + 4);
  let at = head.writeInt32BE(KEY_TYPE_ED25519, 0);
  at += args.source.rawPublicKey.copy(head, at);
  at = head.writeUInt32BE(Number(args.feeStroops), at);
  at = head.writeBigInt64BE(args.sequence, at);
  at = head.writeInt32BE(PRECOND_TIME, at);
  at = head.writeBigUInt64BE(0n, at);
  at = head.writeBigUInt64BE(BigInt(args.maxTimeUnixSeconds), at);
  at = head.writeInt32BE(MEMO_NONE, at);
  at = head.writeInt32BE(1, at); // one operation,
  at = head.writeInt32BE(0, at); // without a source account of its own,
  head.writeInt32BE(INVOKE_HOST_FUNCTION, at);
  return Buffer.concat([head, args.invocation, int32(TRANSACTION_EXT_SOROBAN), args.sorobanData]);
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
  sorobanData: EncodedSorobanData;
  networkPassphrase: string;
  /** When set, the signed transaction is wrapped in a fee bump this account pays for. */
  feePayer?: NativeSigner | undefined;
}): SignedEnvelope {
  const tx = transactionBytes({
    source: args.source,
    feeStroops: args.feeStroops,
    sequence: args.sequence,
    maxTimeUnixSeconds: args.maxTimeUnixSeconds,
    invocation: new xdr.InvokeHostFunctionOp({ hostFunction: args.hostFunction, auth: args.auth }).toXDR(),
    sorobanData: args.sorobanData.xdr,
  });
  const innerHash = payloadHash(args.networkPassphrase, ENVELOPE_TYPE_TX, tx);
  // TransactionV1Envelope {tx, signatures}
  const inner = Buffer.concat([tx, oneSignature(args.source, innerHash)]);
  if (!args.feePayer) {
    return { xdr: Buffer.concat([int32(ENVELOPE_TYPE_TX), inner]).toString('base64'), hash: innerHash.toString('hex') };
  }
  // Fee bump: the outer fee covers one more inclusion fee than the inner, plus the resource fee.
  const resourceFee = args.sorobanData.resourceFee;
  const inclusion = args.feeStroops - resourceFee;
  const outerFee = Buffer.alloc(8);
  outerFee.writeBigInt64BE(inclusion * 2n + resourceFee);
  // FeeBumpTransaction {feeSource: MuxedAccount (ed25519), fee, innerTx: <ENVELOPE_TYPE_TX, inner>, ext: v0}
  const bump = Buffer.concat([int32(KEY_TYPE_ED25519), args.feePayer.rawPublicKey, outerFee, int32(ENVELOPE_TYPE_TX), inner, int32(0)]);
  const outerHash = payloadHash(args.networkPassphrase, ENVELOPE_TYPE_TX_FEE_BUMP, bump);
  const envelope = Buffer.concat([int32(ENVELOPE_TYPE_TX_FEE_BUMP), bump, oneSignature(args.feePayer, outerHash)]);
  return { xdr: envelope.toString('base64'), hash: outerHash.toString('hex') };
}
