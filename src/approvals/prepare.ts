import { Account, Operation, TransactionBuilder, nativeToScVal, rpc, type FeeBumpTransaction, type Transaction } from '@stellar/stellar-sdk';
import type { PaymentRequirements } from '../protocol/x402.js';

/** The all-zero account x402 payers use as a placeholder source (the facilitator replaces it). */
const PLACEHOLDER_SOURCE = 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF';
const BASE_FEE_STROOPS = 100n;

export interface TransferSimulator {
  simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse>;
  latestLedger(): Promise<number>;
}

export class PrepareError extends Error {
  override name = 'PrepareError';
}

/**
 * The x402 `exact` transfer a browser wallet signs, prepared by the server (the page then signs
 * its auth entry with the wallet and submits the payment itself): `transfer(payer, payTo, amount)`
 * on the asset, simulated for its resources and its (unsigned) auth entry, and the ledger that
 * entry may be signed valid until. Nothing here is trusted later: the signed payment goes through
 * the same verification as any other.
 */
export async function prepareExactTransfer(args: {
  simulator: TransferSimulator;
  requirements: PaymentRequirements;
  payer: string;
  networkPassphrase: string;
  ledgerSeconds: number;
}): Promise<{ transaction: string; expirationLedger: number }> {
  const { requirements, payer } = args;
  const operation = Operation.invokeContractFunction({
    contract: requirements.asset,
    function: 'transfer',
    args: [nativeToScVal(payer, { type: 'address' }), nativeToScVal(requirements.payTo, { type: 'address' }), nativeToScVal(BigInt(requirements.amount), { type: 'i128' })],
  });
  const source = new Account(PLACEHOLDER_SOURCE, '0');
  const draft = new TransactionBuilder(source, { fee: BASE_FEE_STROOPS.toString(), networkPassphrase: args.networkPassphrase })
    .addOperation(operation)
    .setTimeout(requirements.maxTimeoutSeconds)
    .build();
  const sim = await args.simulator.simulateRaw(draft);
  if (!rpc.Api.isSimulationSuccess(sim)) throw new PrepareError('the transfer cannot be made from this wallet (is its USDC balance enough?)');
  const auth = sim.result?.auth ?? [];
  const func = operation.body().invokeHostFunctionOp().hostFunction();
  const tx = new TransactionBuilder(source, {
    fee: (BASE_FEE_STROOPS + BigInt(sim.minResourceFee)).toString(),
    networkPassphrase: args.networkPassphrase,
    sorobanData: sim.transactionData.build(),
  })
    .addOperation(Operation.invokeHostFunction({ func, auth }))
    .setTimeout(requirements.maxTimeoutSeconds)
    .build();
  const expirationLedger = (await args.simulator.latestLedger()) + Math.ceil(requirements.maxTimeoutSeconds / args.ledgerSeconds);
  return { transaction: tx.toXDR(), expirationLedger };
}
