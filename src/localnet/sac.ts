import { Address, StrKey, xdr } from '@stellar/stellar-sdk';
import { INT64_MAX, USDC_DECIMALS } from './constants.js';
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
const INT128_MAX = (1n << 127n) - 1n;

/** The USDC Stellar Asset Contract: the functions x402 clients and facilitators call. */
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
      if (amount < 0n) throw new HostError('Contract', '#8', 'negative_amount', `negative amount is not allowed: ${amount}`);
      auth.requireAuth(from, call);
      spend(view, from, amount);
      receive(view, to, amount);
      return done(xdr.ScVal.scvVoid(), [transferEvent(net, from, to, amount)], INSTRUCTIONS_PER_TRANSFER);
    }
    default:
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

function i128Arg(v: xdr.ScVal | undefined): bigint {
  if (!v || v.switch().name !== 'scvI128') throw new HostError('Value', 'UnexpectedType', 'wrong_arguments', 'expected an i128 amount');
  const parts = v.i128();
  return (BigInt(parts.hi().toString()) << 64n) | BigInt(parts.lo().toString());
}
