import { Account, Operation, TransactionBuilder, nativeToScVal, rpc as sdkRpc, type Keypair, type Transaction } from '@stellar/stellar-sdk';
import { oneAtATime, type AcrossInstances } from './one-at-a-time.js';
import type { SendResult, SorobanRpc, TransactionLookup } from './rpc.js';

export const REFUND_INCLUSION_FEE_STROOPS = 100n;
export const REFUND_TIMEOUT_SECONDS = 120;

/**
 * The treasury (payTo) account: receives payments and sends refunds. A refund is a plain
 * `transfer(treasury, payer, amount)` with the treasury as source account (source-account auth, no
 * auth signature needed), built from a simulation and signed here. Transactions from the treasury
 * are serialised (one in flight), as the network allows one per source account per ledger — across
 * instances too when `acrossInstances` is given.
 */
export class Treasury {
  private readonly queue: AcrossInstances;

  constructor(
    private readonly opts: {
      rpc: SorobanRpc;
      keypair: Keypair;
      networkPassphrase: string;
      asset: string;
      maxFeeStroops: bigint;
      /**
       * Runs `work` while no other card402 instance sends from the treasury (several instances on
       * one PostgreSQL database: an advisory lock there). Unset: this process is the only sender.
       */
      acrossInstances?: AcrossInstances;
    },
  ) {
    this.queue = oneAtATime(opts.acrossInstances);
  }

  get address(): string {
    return this.opts.keypair.publicKey();
  }

  /** Runs `work` after every earlier treasury transaction has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue(work);
  }

  /** A signed refund envelope and its hash; nothing is sent. */
  async buildRefund(to: string, amount: bigint): Promise<{ txHash: string; envelopeXdr: string }> {
    const sequence = await this.opts.rpc.accountSequence(this.address);
    if (sequence === undefined) throw new Error('treasury account does not exist on the ledger');
    const op = Operation.invokeContractFunction({
      contract: this.opts.asset,
      function: 'transfer',
      args: [nativeToScVal(this.address, { type: 'address' }), nativeToScVal(to, { type: 'address' }), nativeToScVal(amount, { type: 'i128' })],
    });
    const draft = new TransactionBuilder(new Account(this.address, sequence.toString()), {
      fee: REFUND_INCLUSION_FEE_STROOPS.toString(),
      networkPassphrase: this.opts.networkPassphrase,
    })
      .addOperation(op)
      .setTimeout(REFUND_TIMEOUT_SECONDS)
      .build();
    const sim = await this.opts.rpc.simulateRaw(draft);
    if (!sdkRpc.Api.isSimulationSuccess(sim)) throw new Error(`refund simulation failed: ${'error' in sim ? String(sim.error) : 'unknown'}`);
    if (BigInt(sim.minResourceFee) + REFUND_INCLUSION_FEE_STROOPS > this.opts.maxFeeStroops) throw new Error('refund fee above the configured cap');
    const tx = sdkRpc.assembleTransaction(draft, sim).build() as Transaction;
    tx.sign(this.opts.keypair);
    return { txHash: tx.hash().toString('hex'), envelopeXdr: tx.toXDR() };
  }

  send(envelopeXdr: string): Promise<SendResult> {
    return this.opts.rpc.send(TransactionBuilder.fromXDR(envelopeXdr, this.opts.networkPassphrase));
  }

  lookup(txHash: string): Promise<TransactionLookup> {
    return this.opts.rpc.transaction(txHash);
  }
}
