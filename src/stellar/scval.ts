import { xdr } from '@stellar/stellar-sdk';
import { accountAddress, contractAddress } from './strkeys.js';

/**
 * Readers for the few ScVal shapes payments look at (addresses, i128 amounts, SAC transfer events),
 * shared by verification (x402/verify.ts) and the evidence that a payment reached us
 * (stellar/transfer-evidence.ts).
 */

/**
 * G... or C... for an account or contract ScAddress (other kinds: undefined). Encodes directly:
 * stellar-sdk's Address.fromScAddress re-decodes what it encodes, through base32.js, whose Buffer()
 * calls trip Node's deprecation stack check on every call.
 */
export function scAddressToString(address: xdr.ScAddress): string | undefined {
  switch (address.switch()) {
    case xdr.ScAddressType.scAddressTypeAccount():
      return accountAddress(address.accountId().ed25519());
    case xdr.ScAddressType.scAddressTypeContract():
      return contractAddress(address.contractId() as unknown as Buffer);
    default:
      return undefined;
  }
}

export function addressOf(value: xdr.ScVal): string | undefined {
  if (value.switch() !== xdr.ScValType.scvAddress()) return undefined;
  try {
    return scAddressToString(value.address());
  } catch {
    return undefined;
  }
}

export function i128Of(value: xdr.ScVal): bigint | undefined {
  if (value.switch() !== xdr.ScValType.scvI128()) return undefined;
  // hi:lo as two's complement, read directly: scValToNative's generic conversion costs several times more.
  const parts = value.i128();
  return (parts.hi().toBigInt() << 64n) | parts.lo().toBigInt();
}

/** The amount of a transfer event's data: an i128, or CAP-67's map {amount, to_muxed_id}. */
export function transferAmountOf(data: xdr.ScVal): bigint | undefined {
  const amount = i128Of(data);
  if (amount !== undefined || data.switch() !== xdr.ScValType.scvMap()) return amount;
  const entry = data.map()?.find((e) => e.key().switch() === xdr.ScValType.scvSymbol() && e.key().sym().toString() === 'amount');
  return entry ? i128Of(entry.val()) : undefined;
}

/** A SAC transfer event as the ledger emits it, read; undefined for any other event. */
export interface TransferEvent {
  contract: string;
  from: string | undefined;
  to: string | undefined;
  amount: bigint | undefined;
}

/** The event's contract and, for a `transfer`, its from/to/amount (data: i128, or CAP-67's {amount, to_muxed_id}). */
export function readContractEvent(event: xdr.ContractEvent): { name: string | undefined; contract: string | undefined; transfer: TransferEvent | undefined } {
  const body = event.body().v0();
  const topics = body.topics();
  const name = topics[0]?.switch() === xdr.ScValType.scvSymbol() ? topics[0].sym().toString() : undefined;
  const contractId = event.contractId();
  const contract = contractId ? contractAddress(contractId as unknown as Buffer) : undefined;
  if (name !== 'transfer' || contract === undefined) return { name, contract, transfer: undefined };
  const amount = transferAmountOf(body.data());
  return {
    name,
    contract,
    transfer: { contract, from: topics[1] ? addressOf(topics[1]) : undefined, to: topics[2] ? addressOf(topics[2]) : undefined, amount },
  };
}
