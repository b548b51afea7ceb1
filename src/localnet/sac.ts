import { Address, StrKey, xdr } from '@stellar/stellar-sdk';
import { INT64_MAX, MAX_ENTRY_TTL_LEDGERS, MIN_TEMPORARY_TTL_LEDGERS, USDC_DECIMALS } from './constants.js';
import { i128 } from './entries.js';
import { HostError } from './host-error.js';
import type { AuthManager } from './auth.js';
import type { LocalnetNetwork } from './network.js';
import type { LedgerView } from './view.js';

export interface SacCall {
  view: LedgerView;
  auth: AuthManager;
  call: xdr.InvokeContractArgs;
}

export interface SacResult {
  retval: xdr.ScVal;
  events: xdr.ContractEvent[];
  instructions: number;
}

// Cost model, in the same units as the host's budget; a SAC call is cheap next to signature checks.
const INSTRUCTIONS_PER_CALL = 150_000;
const INSTRUCTIONS_PER_TRANSFER = 120_000;
const INSTRUCTIONS_PER_ALLOWANCE_WRITE = 60_000;
const INT128_MAX = (1n << 127n) - 1n;

/**
 * The USDC Stellar Asset Contract: the SEP-41 token interface (balance, transfer, approve, allowance,
 * transfer_from) and the metadata functions, with the host's rules, events and error codes. Not here:
 * burn, burn_from and the admin functions (they answer `function_not_supported`).
 */
export function invokeSac({ view, auth, call }: SacCall): SacResult {
  const fn = call.functionName().toString();
  const args = call.args();
  const net = view.network;
  view.read({ kind: 'instance' });
  const done = (retval: xdr.ScVal, events: xdr.ContractEvent[] = [], extra = 0): SacResult => ({ retval, events, instructions: INSTRUCTIONS_PER_CALL + extra });
  switch (fn) {
    case 'decimals':
      arity(fn, args, 0);
      return done(xdr.ScVal.scvU32(USDC_DECIMALS));
    case 'name':
      arity(fn, args, 0);
      return done(xdr.ScVal.scvString(net.usdcAssetString));
    case 'symbol':
      arity(fn, args, 0);
      return done(xdr.ScVal.scvString(net.usdcAsset.getCode()));
    case 'balance': {
      arity(fn, args, 1);
      const id = addressArg(args[0]);
      view.read({ kind: 'usdc', holder: id });
      return done(i128(readBalance(view, id)));
    }
    case 'transfer': {
      arity(fn, args, 3);
      const from = addressArg(args[0]);
      const to = addressArg(args[1]);
      const amount = i128Arg(args[2]);
      checkNonNegative(amount);
      auth.requireAuth(from, call);
      spend(view, from, amount);
      receive(view, to, amount);
      return done(xdr.ScVal.scvVoid(), [transferEvent(net, from, to, amount)], INSTRUCTIONS_PER_TRANSFER);
    }
    case 'allowance': {
      arity(fn, args, 2);
      const from = addressArg(args[0]);
      const spender = addressArg(args[1]);
      return done(i128(readAllowance(view, from, spender)));
    }
    case 'approve': {
      arity(fn, args, 4);
      const from = addressArg(args[0]);
      const spender = addressArg(args[1]);
      const amount = i128Arg(args[2]);
      const liveUntil = u32Arg(args[3]);
      checkNonNegative(amount);
      auth.requireAuth(from, call);
      writeAllowance(view, from, spender, amount, liveUntil);
      return done(xdr.ScVal.scvVoid(), [approveEvent(net, from, spender, amount, liveUntil)], INSTRUCTIONS_PER_ALLOWANCE_WRITE);
    }
    case 'transfer_from': {
      arity(fn, args, 4);
      const spender = addressArg(args[0]);
      const from = addressArg(args[1]);
      const to = addressArg(args[2]);
      const amount = i128Arg(args[3]);
      checkNonNegative(amount);
      // The spender authorizes; `from` signs nothing here: its earlier `approve` is the authorization.
      auth.requireAuth(spender, call);
      spendAllowance(view, from, spender, amount);
      spend(view, from, amount);
      receive(view, to, amount);
      return done(xdr.ScVal.scvVoid(), [transferEvent(net, from, to, amount)], INSTRUCTIONS_PER_TRANSFER + INSTRUCTIONS_PER_ALLOWANCE_WRITE);
    }
    default:
      // burn, burn_from, mint, clawback, set_admin, set_authorized…: real SAC functions this ledger does not run.
      throw new HostError('Context', 'InvalidAction', 'function_not_supported', `the local ledger's SAC does not implement ${fn}`);
  }
}

/** CAP-67 layout: topics [transfer, from, to, sep0011 asset], data = amount. */
export function transferEvent(net: LocalnetNetwork, from: string, to: string, amount: bigint): xdr.ContractEvent {
  return new xdr.ContractEvent({
    ext: new xdr.ExtensionPoint(0),
    contractId: net.usdcContractId as unknown as xdr.ContractId,
    type: xdr.ContractEventType.contract(),
    body: new xdr.ContractEventBody(
      0,
      new xdr.ContractEventV0({
        topics: [xdr.ScVal.scvSymbol('transfer'), new Address(from).toScVal(), new Address(to).toScVal(), xdr.ScVal.scvString(net.usdcAssetString)],
        data: i128(amount),
      }),
    ),
  });
}

/** SEP-41 `approve` event: topics [approve, from, spender, sep0011 asset], data = [amount, live_until_ledger]. */
export function approveEvent(net: LocalnetNetwork, from: string, spender: string, amount: bigint, liveUntil: number): xdr.ContractEvent {
  return new xdr.ContractEvent({
    ext: new xdr.ExtensionPoint(0),
    contractId: net.usdcContractId as unknown as xdr.ContractId,
    type: xdr.ContractEventType.contract(),
    body: new xdr.ContractEventBody(
      0,
      new xdr.ContractEventV0({
        topics: [xdr.ScVal.scvSymbol('approve'), new Address(from).toScVal(), new Address(spender).toScVal(), xdr.ScVal.scvString(net.usdcAssetString)],
        data: xdr.ScVal.scvVec([i128(amount), xdr.ScVal.scvU32(liveUntil)]),
      }),
    ),
  });
}

function checkNonNegative(amount: bigint): void {
  if (amount < 0n) throw new HostError('Contract', '#8', 'negative_amount', `negative amount is not allowed: ${amount}`);
}

/** What `allowance(from, spender)` answers: 0 without an entry or once the ledger is past its live-until ledger. */
function readAllowance(view: LedgerView, from: string, spender: string): bigint {
  view.read({ kind: 'allowance', from, spender });
  const a = view.allowance(from, spender);
  if (!a || a.liveUntil < view.ledgerSeq) return 0n;
  return a.amount;
}

/**
 * The host's allowance write: live_until may not pass the maximum entry TTL; a positive amount needs a
 * live_until no earlier than the current ledger (0 clears, whatever the ledger); a zero amount creates no
 * entry; an entry's TTL is extended to live_until when the amount is positive and live_until grows.
 */
function writeAllowance(view: LedgerView, from: string, spender: string, amount: bigint, liveUntil: number): void {
  const seq = view.ledgerSeq;
  const maxLiveUntil = seq + MAX_ENTRY_TTL_LEDGERS - 1;
  if (liveUntil > maxLiveUntil) {
    throw new HostError('Contract', '#9', 'allowance_live_until_too_far', `live_until ${liveUntil} is greater than max_live_until_ledger ${maxLiveUntil}`);
  }
  if (amount > 0n && liveUntil < seq) {
    throw new HostError('Contract', '#9', 'allowance_live_until_past', `live_until ${liveUntil} must be >= ledger sequence ${seq}`);
  }
  view.read({ kind: 'allowance', from, spender });
  const existing = view.allowance(from, spender);
  if (!existing && amount === 0n) return;
  const created = existing ? existing.ttl : seq + MIN_TEMPORARY_TTL_LEDGERS - 1;
  const previousLiveUntil = existing ? existing.liveUntil : 0;
  const ttl = amount > 0n && previousLiveUntil < liveUntil ? Math.max(created, liveUntil) : created;
  view.putAllowance(from, spender, { amount, liveUntil, ttl });
}

function spendAllowance(view: LedgerView, from: string, spender: string, amount: bigint): void {
  const allowance = readAllowance(view, from, spender);
  if (allowance < amount) {
    throw new HostError('Contract', '#9', 'allowance_insufficient', `not enough allowance to spend: ${allowance} < ${amount}`);
  }
  if (amount === 0n) return;
  const a = view.allowance(from, spender);
  if (!a) throw new Error('allowance vanished while spending it');
  writeAllowance(view, from, spender, allowance - amount, a.liveUntil);
}

function readBalance(view: LedgerView, holder: string): bigint {
  const h = view.usdc(holder);
  if (h) return h.balance;
  if (StrKey.isValidEd25519PublicKey(holder)) {
    throw new HostError('Contract', '#13', 'trustline_missing', `trustline entry is missing for account ${holder}`);
  }
  return 0n;
}

// The issuer mints on send and burns on receive; it holds no balance entry.
function spend(view: LedgerView, from: string, amount: bigint): void {
  if (from === view.network.usdcIssuer) return;
  view.write({ kind: 'usdc', holder: from });
  const balance = readBalance(view, from);
  if (balance < amount) {
    throw new HostError('Contract', '#10', 'insufficient_balance', `balance is not sufficient to spend: ${balance} < ${amount}`);
  }
  view.putUsdc(from, balance - amount);
}

function receive(view: LedgerView, to: string, amount: bigint): void {
  if (to === view.network.usdcIssuer) return;
  view.write({ kind: 'usdc', holder: to });
  const next = readBalance(view, to) + amount;
  const limit = StrKey.isValidEd25519PublicKey(to) ? INT64_MAX : INT128_MAX;
  if (next > limit) throw new HostError('Contract', '#10', 'balance_overflow', `balance of ${to} would exceed its limit`);
  view.putUsdc(to, next);
}

function arity(fn: string, args: xdr.ScVal[], n: number): void {
  if (args.length !== n) throw new HostError('Context', 'UnexpectedSize', 'wrong_arguments', `${fn} takes ${n} arguments, got ${args.length}`);
}

function addressArg(v: xdr.ScVal | undefined): string {
  if (!v || v.switch().name !== 'scvAddress') throw new HostError('Value', 'UnexpectedType', 'wrong_arguments', 'expected an Address argument');
  const addr = Address.fromScAddress(v.address()).toString();
  if (!StrKey.isValidEd25519PublicKey(addr) && !StrKey.isValidContract(addr)) {
    throw new HostError('Value', 'UnexpectedType', 'wrong_arguments', `unsupported address kind ${addr}`);
  }
  return addr;
}

function u32Arg(v: xdr.ScVal | undefined): number {
  if (!v || v.switch().name !== 'scvU32') throw new HostError('Value', 'UnexpectedType', 'wrong_arguments', 'expected a u32 ledger number');
  return v.u32();
}

function i128Arg(v: xdr.ScVal | undefined): bigint {
  if (!v || v.switch().name !== 'scvI128') throw new HostError('Value', 'UnexpectedType', 'wrong_arguments', 'expected an i128 amount');
  const parts = v.i128();
  return (BigInt(parts.hi().toString()) << 64n) | BigInt(parts.lo().toString());
}
