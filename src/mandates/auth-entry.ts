import { Address, scValToNative, xdr } from '@stellar/stellar-sdk';

/** What the owner's signed entry must authorize, exactly. */
export interface ExpectedApprove {
  owner: string;
  spender: string;
  asset: string;
  amount: bigint;
  /** Accepted live_until_ledger range, inclusive. */
  liveUntilMin: number;
  liveUntilMax: number;
  latestLedger: number;
  /** How far ahead the entry's signature may expire, in ledgers. */
  maxSignatureLedgers: number;
}

export type ApproveEntryCheck = { ok: true; entry: xdr.SorobanAuthorizationEntry; liveUntilLedger: number } | { ok: false; reason: string };

/**
 * Checks an owner-signed authorization entry before card402 puts it in a transaction: address
 * credentials of the owner, signed, not expired, and a root invocation of exactly
 * `approve(owner, spender, amount, live_until)` on the USDC contract with no sub-invocations. The
 * signature itself is verified by the ledger (the enforcing simulation, then the network).
 */
export function checkApproveEntry(base64: string, expected: ExpectedApprove): ApproveEntryCheck {
  let entry: xdr.SorobanAuthorizationEntry;
  try {
    entry = xdr.SorobanAuthorizationEntry.fromXDR(base64, 'base64');
  } catch {
    return { ok: false, reason: 'auth_entry_undecodable' };
  }
  const creds = entry.credentials();
  if (creds.switch().name !== 'sorobanCredentialsAddress') return { ok: false, reason: 'auth_entry_not_address_credentials' };
  const address = creds.address();
  if (safeAddress(address.address()) !== expected.owner) return { ok: false, reason: 'auth_entry_not_owner' };
  if (address.signature().switch().name === 'scvVoid') return { ok: false, reason: 'auth_entry_unsigned' };
  const expiration = address.signatureExpirationLedger();
  if (expiration <= expected.latestLedger) return { ok: false, reason: 'auth_entry_expired' };
  if (expiration > expected.latestLedger + expected.maxSignatureLedgers) return { ok: false, reason: 'auth_entry_expiration_too_far' };
  const root = entry.rootInvocation();
  if (root.subInvocations().length > 0) return { ok: false, reason: 'auth_entry_has_subinvocations' };
  if (root.function().switch().name !== 'sorobanAuthorizedFunctionTypeContractFn') return { ok: false, reason: 'auth_entry_wrong_function' };
  const call = root.function().contractFn();
  if (safeAddress(call.contractAddress()) !== expected.asset) return { ok: false, reason: 'auth_entry_wrong_contract' };
  if (call.functionName().toString() !== 'approve') return { ok: false, reason: 'auth_entry_wrong_function' };
  const args = call.args();
  if (args.length !== 4) return { ok: false, reason: 'auth_entry_wrong_arguments' };
  const [from, spender, amount, liveUntil] = args as [xdr.ScVal, xdr.ScVal, xdr.ScVal, xdr.ScVal];
  if (from.switch().name !== 'scvAddress' || safeAddress(from.address()) !== expected.owner) return { ok: false, reason: 'auth_entry_wrong_arguments' };
  if (spender.switch().name !== 'scvAddress' || safeAddress(spender.address()) !== expected.spender) return { ok: false, reason: 'auth_entry_wrong_spender' };
  if (amount.switch().name !== 'scvI128' || BigInt(scValToNative(amount) as bigint) !== expected.amount) return { ok: false, reason: 'auth_entry_wrong_amount' };
  if (liveUntil.switch().name !== 'scvU32') return { ok: false, reason: 'auth_entry_wrong_arguments' };
  const liveUntilLedger = liveUntil.u32();
  if (liveUntilLedger < expected.liveUntilMin || liveUntilLedger > expected.liveUntilMax) return { ok: false, reason: 'auth_entry_wrong_expiration' };
  return { ok: true, entry, liveUntilLedger };
}

function safeAddress(a: xdr.ScAddress): string | undefined {
  try {
    return Address.fromScAddress(a).toString();
  } catch {
    return undefined;
  }
}
