// Resource fee schedule. The shape follows the network's (instructions, entries, bytes, tx size, events, rent);
// the rates are smaller than testnet's so a SAC transfer costs a few thousand stroops, well under the 50,000
// stroop cap x402 facilitators put on a payment.
import type { xdr } from '@stellar/stellar-sdk';

export const FEE_PER_10K_INSTRUCTIONS = 25n;
export const FEE_PER_LEDGER_ENTRY_READ = 100n;
export const FEE_PER_LEDGER_ENTRY_WRITE = 200n;
export const FEE_PER_1KB_DISK_READ = 100n;
export const FEE_PER_1KB_WRITE = 500n;
export const FEE_PER_1KB_TX_SIZE = 1_600n;
export const FEE_PER_1KB_EVENTS = 10_000n;
export const RENT_FEE_PER_NEW_TEMPORARY_ENTRY = 50n;
export const RENT_FEE_PER_NEW_PERSISTENT_ENTRY = 1_000n;

/** What the transaction declares in its SorobanTransactionData; the non-refundable fee is charged on these. */
export interface DeclaredResources {
  instructions: number;
  diskReadBytes: number;
  writeBytes: number;
  readEntries: number; // read-only + read-write footprint entries
  writeEntries: number;
  txSizeBytes: number;
}

/** What the invocation actually emitted and created; the refundable fee is charged on these. */
export interface RefundableUsage {
  eventsBytes: number;
  newTemporaryEntries: number;
  newPersistentEntries: number;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

export function nonRefundableFee(r: DeclaredResources): bigint {
  return (
    ceilDiv(BigInt(r.instructions) * FEE_PER_10K_INSTRUCTIONS, 10_000n) +
    BigInt(r.readEntries) * FEE_PER_LEDGER_ENTRY_READ +
    BigInt(r.writeEntries) * FEE_PER_LEDGER_ENTRY_WRITE +
    ceilDiv(BigInt(r.diskReadBytes) * FEE_PER_1KB_DISK_READ, 1024n) +
    ceilDiv(BigInt(r.writeBytes) * FEE_PER_1KB_WRITE, 1024n) +
    ceilDiv(BigInt(r.txSizeBytes) * FEE_PER_1KB_TX_SIZE, 1024n)
  );
}

export function refundableFee(u: RefundableUsage): bigint {
  return (
    ceilDiv(BigInt(u.eventsBytes) * FEE_PER_1KB_EVENTS, 1024n) +
    BigInt(u.newTemporaryEntries) * RENT_FEE_PER_NEW_TEMPORARY_ENTRY +
    BigInt(u.newPersistentEntries) * RENT_FEE_PER_NEW_PERSISTENT_ENTRY
  );
}

/** The non-refundable fee of the resources a transaction declares in its SorobanTransactionData. */
export function declaredNonRefundableFee(data: xdr.SorobanTransactionData, txSizeBytes: number): bigint {
  const res = data.resources();
  const fp = res.footprint();
  return nonRefundableFee({
    instructions: res.instructions(),
    diskReadBytes: res.diskReadBytes(),
    writeBytes: res.writeBytes(),
    readEntries: fp.readOnly().length + fp.readWrite().length,
    writeEntries: fp.readWrite().length,
    txSizeBytes,
  });
}
