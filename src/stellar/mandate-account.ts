import { Account, Operation, TransactionBuilder, nativeToScVal, rpc as sdkRpc, scValToNative, xdr, type Keypair, type Transaction } from '@stellar/stellar-sdk';
import { oneAtATime, type AcrossInstances } from './one-at-a-time.js';
import type { SendResult, SorobanRpc, TransactionLookup } from './rpc.js';

export const MANDATE_INCLUSION_FEE_STROOPS = 100n;
export const MANDATE_TX_TIMEOUT_SECONDS = 120;

/** The ledger refused an invocation in simulation; `hostError` is its text (e.g. `Error(Contract, #9)`). */
export class InvocationRefusedError extends Error {
  override name = 'InvocationRefusedError';
  constructor(readonly hostError: string) {
    super(`simulation refused the invocation: ${hostError.slice(0, 300)}`);
  }
  /** The SAC's AllowanceError (#9): not enough allowance, or an expired one. */
  get isAllowanceError(): boolean {
    return /Error\(Contract, #9\)/.test(this.hostError);
  }
  /** The SAC's BalanceError (#10): the owner's balance is short. */
  get isBalanceError(): boolean {
    return /Error\(Contract, #10\)/.test(this.hostError);
  }
}

export interface BuiltEnvelope {
  txHash: string;
  envelopeXdr: string;
}

/**
 * card402's mandate account: the `spender` owners approve (SEP-41 `approve`), and the source of
 * every mandate transaction — the owner's approve (fee sponsored: the owner signs only its
 * authorization entry, as with x402), and the `transfer_from(spender, owner, treasury, price)` of
 * each purchase (source-account authorization, no extra signature). Like the treasury, its
 * transactions are serialised: one in flight, as the network allows one per source per ledger —
 * across instances too when `acrossInstances` is given.
 */
export class MandateAccount {
  private readonly queue: AcrossInstances;

  constructor(
    private readonly opts: {
      rpc: SorobanRpc;
      keypair: Keypair;
      networkPassphrase: string;
      asset: string;
      maxFeeStroops: bigint;
      /** As Treasury's: several instances on one PostgreSQL database send from this account in turn. */
      acrossInstances?: AcrossInstances;
    },
  ) {
    this.queue = oneAtATime(opts.acrossInstances);
  }

  get address(): string {
    return this.opts.keypair.publicKey();
  }

  get asset(): string {
    return this.opts.asset;
  }

  get networkPassphrase(): string {
    return this.opts.networkPassphrase;
  }

  /** Runs `work` after every earlier mandate transaction has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue(work);
  }

  latestLedger(): Promise<number> {
    return this.opts.rpc.latestLedger();
  }

  /** `allowance(owner, spender)` as the next ledger will see it (simulation; nothing is sent). */
  async allowance(owner: string): Promise<bigint> {
    const op = this.invocation('allowance', [nativeToScVal(owner, { type: 'address' }), nativeToScVal(this.address, { type: 'address' })]);
    const draft = await this.draft(op);
    const sim = await this.opts.rpc.simulateRaw(draft);
    if (!sdkRpc.Api.isSimulationSuccess(sim)) throw new InvocationRefusedError('error' in sim ? String(sim.error) : 'unknown');
    const retval = sim.result?.retval;
    if (!retval) throw new Error('allowance simulation returned no value');
    return BigInt(scValToNative(retval) as bigint);
  }

  /** The owner's approve with its signed authorization entry, built from an enforcing simulation and signed; nothing is sent. */
  buildApprove(args: { owner: string; amount: bigint; liveUntilLedger: number; authEntry: xdr.SorobanAuthorizationEntry }): Promise<BuiltEnvelope> {
    const op = this.invocation('approve', approveArgs(args.owner, this.address, args.amount, args.liveUntilLedger), [args.authEntry]);
    return this.build(op);
  }

  /** `transfer_from(spender, owner, to, amount)` (the spender authorizes as source); nothing is sent. */
  buildTransferFrom(owner: string, to: string, amount: bigint): Promise<BuiltEnvelope> {
    const op = this.invocation('transfer_from', [
      nativeToScVal(this.address, { type: 'address' }),
      nativeToScVal(owner, { type: 'address' }),
      nativeToScVal(to, { type: 'address' }),
      nativeToScVal(amount, { type: 'i128' }),
    ]);
    return this.build(op);
  }

  send(envelopeXdr: string): Promise<SendResult> {
    return this.opts.rpc.send(envelopeXdr);
  }

  lookup(txHash: string): Promise<TransactionLookup> {
    return this.opts.rpc.transaction(txHash);
  }

  private invocation(fn: string, args: xdr.ScVal[], auth?: xdr.SorobanAuthorizationEntry[]): xdr.Operation {
    return Operation.invokeContractFunction({ contract: this.opts.asset, function: fn, args, ...(auth ? { auth } : {}) });
  }

  private async draft(op: xdr.Operation): Promise<Transaction> {
    const sequence = await this.opts.rpc.accountSequence(this.address);
    if (sequence === undefined) throw new Error('the mandate account does not exist on the ledger');
    return new TransactionBuilder(new Account(this.address, sequence.toString()), {
      fee: MANDATE_INCLUSION_FEE_STROOPS.toString(),
      networkPassphrase: this.opts.networkPassphrase,
    })
      .addOperation(op)
      .setTimeout(MANDATE_TX_TIMEOUT_SECONDS)
      .build();
  }

  private async build(op: xdr.Operation): Promise<BuiltEnvelope> {
    const draft = await this.draft(op);
    const sim = await this.opts.rpc.simulateRaw(draft);
    if (!sdkRpc.Api.isSimulationSuccess(sim)) throw new InvocationRefusedError('error' in sim ? String(sim.error) : 'unknown');
    if (BigInt(sim.minResourceFee) + MANDATE_INCLUSION_FEE_STROOPS > this.opts.maxFeeStroops) throw new Error('mandate transaction fee above the configured cap');
    const tx = sdkRpc.assembleTransaction(draft, sim).build() as Transaction;
    tx.sign(this.opts.keypair);
    return { txHash: tx.hash().toString('hex'), envelopeXdr: tx.toXDR() };
  }
}

/** The arguments of SEP-41 `approve(from, spender, amount: i128, live_until_ledger: u32)`. */
export function approveArgs(from: string, spender: string, amount: bigint, liveUntilLedger: number): xdr.ScVal[] {
  return [nativeToScVal(from, { type: 'address' }), nativeToScVal(spender, { type: 'address' }), nativeToScVal(amount, { type: 'i128' }), xdr.ScVal.scvU32(liveUntilLedger)];
}
