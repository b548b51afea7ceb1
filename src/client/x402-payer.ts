import { Account, Keypair, Operation, TransactionBuilder, authorizeEntry, nativeToScVal, rpc } from '@stellar/stellar-sdk';
import { SorobanPayerRpc, type FetchLike, type PayerRpc } from './soroban-rpc.js';
import { PAYMENT_REQUIRED_HEADER, decodeJsonHeader, encodeJsonHeader } from '../protocol/x402-codec.js';
import { X402_VERSION, type OfferedPaymentRequired, type PaymentPayload, type PaymentRequired } from '../protocol/x402.js';

/**
 * The paying side of x402 `exact` on Stellar: builds `transfer(from, to, amount)` on the asset
 * contract, simulates it for its auth entry, signs that entry with the payer's key (stellar-sdk
 * authorizeEntry, expiration = latest ledger + ceil(maxTimeoutSeconds / ledgerSeconds)), and wraps
 * the transaction in a v2 PaymentPayload. The payer signs only the auth entry: the facilitator
 * pays the fee and spends its own sequence number.
 */

/** The all-zero account the official client also uses as a placeholder source. */
export const PLACEHOLDER_SOURCE = 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF';
export const DEFAULT_LEDGER_SECONDS = 5;

export interface PayerOptions {
  keypair: Keypair;
  networkPassphrase: string;
  /** An RPC URL (http allowed, for the local ledger) or a client. */
  rpc: string | PayerRpc;
  fetch?: FetchLike;
  ledgerSeconds?: number;
}

function rpcOf(opts: PayerOptions): PayerRpc {
  return typeof opts.rpc === 'string' ? new SorobanPayerRpc(opts.rpc, opts.fetch ? { fetch: opts.fetch } : {}) : opts.rpc;
}

export async function createExactPayment(
  required: OfferedPaymentRequired,
  opts: PayerOptions,
): Promise<PaymentPayload> {
  const requirements = required.accepts.find((r) => r.scheme === 'exact');
  if (!requirements) throw new Error('no exact-scheme requirements offered');
  if (requirements.extra?.areFeesSponsored !== true) throw new Error('exact on Stellar needs areFeesSponsored');
  const server = rpcOf(opts);
  const payer = opts.keypair.publicKey();
  const { asset, payTo } = requirements;
  const amount = BigInt(requirements.amount);

  const operation = Operation.invokeContractFunction({
    contract: asset,
    function: 'transfer',
    args: [nativeToScVal(payer, { type: 'address' }), nativeToScVal(payTo, { type: 'address' }), nativeToScVal(amount, { type: 'i128' })],
  });
  const source = new Account(PLACEHOLDER_SOURCE, '0');
  const draft = new TransactionBuilder(source, { fee: '100', networkPassphrase: opts.networkPassphrase })
    .addOperation(operation)
    .setTimeout(requirements.maxTimeoutSeconds)
    .build();

  const sim = await server.simulateRaw(draft);
  if (!rpc.Api.isSimulationSuccess(sim)) {
    throw new Error(`payment simulation failed: ${'error' in sim ? String(sim.error) : 'unknown'}`);
  }
  const entries = sim.result?.auth ?? [];
  const sorobanData = sim.transactionData.build();
  const resourceFee = BigInt(sim.minResourceFee);

  const expiration =
    (await server.latestLedger()) + Math.ceil(requirements.maxTimeoutSeconds / (opts.ledgerSeconds ?? DEFAULT_LEDGER_SECONDS));
  const signed = await Promise.all(
    entries.map((entry) => authorizeEntry(entry, opts.keypair, expiration, opts.networkPassphrase)),
  );

  const builder = new TransactionBuilder(source, {
    fee: (100n + resourceFee).toString(),
    networkPassphrase: opts.networkPassphrase,
    sorobanData,
  });
  const func = operation.body().invokeHostFunctionOp().hostFunction();
  const tx = builder
    .addOperation(Operation.invokeHostFunction({ func, auth: signed }))
    .setTimeout(requirements.maxTimeoutSeconds)
    .build();

  return {
    x402Version: X402_VERSION,
    resource: required.resource,
    accepted: requirements,
    payload: { transaction: tx.toXDR() },
  };
}

export function encodePayment(payload: PaymentPayload): string {
  return encodeJsonHeader(payload);
}

/** Reads the 402's PAYMENT-REQUIRED header (falling back to the JSON body). */
export async function readPaymentRequired(response: Response): Promise<PaymentRequired> {
  const header = response.headers.get(PAYMENT_REQUIRED_HEADER);
  if (header) return decodeJsonHeader<PaymentRequired>(header);
  return (await response.json()) as PaymentRequired;
}
