import { Address, Keypair, Operation, TransactionBuilder, rpc as sdkRpc, xdr } from '@stellar/stellar-sdk';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import type { FetchLike } from '../../src/stellar/rpc.js';
import type { PaymentPayload } from '../../src/protocol/x402.js';
import type { PaidHarness } from './paid.js';
import { invokeOpOf, sign, transferArgs } from './payments.js';

/**
 * The attacks of the evidence rule (docs/ARCHITECTURE.md, "What proves a payment"), done the way a
 * payer would on the real network: its own transactions, sent to the ledger's JSON-RPC.
 */

/** The nonce and expiration ledger of the payer's signed entry in a payment. */
export function entryOf(payment: PaymentPayload): { nonce: xdr.Int64; expiration: number; entry: xdr.SorobanAuthorizationEntry } {
  const entry = invokeOpOf(payment).auth![0]!;
  const credentials = entry.credentials().address();
  return { nonce: credentials.nonce(), expiration: credentials.signatureExpirationLedger(), entry };
}

/**
 * Spends the nonce of `payment`'s auth entry on another call of the payer's own: a 1-stroop
 * transfer from the payer to itself, authorised by the payer with the same nonce and expiration,
 * sent from `source` (a second account of the attacker's). Returns the transaction hash once the
 * ledger has accepted it (PENDING); it applies at the next close.
 */
export async function burnNonce(rpcUrl: string, payment: PaymentPayload, payer: Keypair, source: Keypair, asset: string): Promise<string> {
  const { nonce, expiration } = entryOf(payment);
  const invoke = transferArgs(asset, payer.publicKey(), payer.publicKey(), 1n);
  const unsigned = new xdr.SorobanAuthorizationEntry({
    credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
      new xdr.SorobanAddressCredentials({
        address: Address.fromString(payer.publicKey()).toScAddress(),
        nonce,
        signatureExpirationLedger: expiration,
        signature: xdr.ScVal.scvVoid(),
      }),
    ),
    rootInvocation: new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(invoke),
      subInvocations: [],
    }),
  });
  const signed = await sign(unsigned, payer, expiration);
  return submitInvocation(rpcUrl, source, xdr.HostFunction.hostFunctionTypeInvokeContract(invoke), [signed]);
}

/** Sends the payer's own signed payment invocation from `source` (a third party who saw the payment). */
export function submitPayment(rpcUrl: string, payment: PaymentPayload, source: Keypair): Promise<string> {
  const op = invokeOpOf(payment);
  return submitInvocation(rpcUrl, source, op.func, op.auth ?? []);
}

async function submitInvocation(rpcUrl: string, source: Keypair, func: xdr.HostFunction, auth: xdr.SorobanAuthorizationEntry[]): Promise<string> {
  const rpc = new sdkRpc.Server(rpcUrl, { allowHttp: true });
  const tx = new TransactionBuilder(await rpc.getAccount(source.publicKey()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
    .addOperation(Operation.invokeHostFunction({ func, auth }))
    .setTimeout(300)
    .build();
  const prepared = await rpc.prepareTransaction(tx);
  prepared.sign(source);
  const sent = await rpc.sendTransaction(prepared);
  if (sent.status !== 'PENDING') throw new Error(`the ledger refused the transaction: ${sent.status}`);
  return sent.hash;
}

export async function until(check: () => boolean | Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** What the payer signs for `route` (after its 402), without sending it. */
export async function signedPayment(h: PaidHarness, agent: Keypair, route: string, body: unknown): Promise<PaymentPayload> {
  const challenge = await fetch(h.baseUrl + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return createExactPayment(await readPaymentRequired(challenge), {
    keypair: agent,
    networkPassphrase: LOCALNET_PASSPHRASE,
    rpc: h.ledgerServer.rpcUrl,
    ledgerSeconds: h.config.x402.ledgerSeconds,
  });
}

export function sendPayment(h: PaidHarness, route: string, body: unknown, payment: PaymentPayload): Promise<Response> {
  return fetch(h.baseUrl + route, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': encodePayment(payment) },
    body: JSON.stringify(body),
  });
}

/** An RPC transport wrapper for the harness that counts card402's own sendTransaction calls. */
export function countingSends(): { rpcFetch: (inner: FetchLike) => FetchLike; sent(): number } {
  let sent = 0;
  return {
    rpcFetch: (inner) => async (url, init) => {
      const response = await inner(url, init);
      const body = JSON.parse(String(init.body)) as { method?: string };
      if (!Array.isArray(body) && body.method === 'sendTransaction') sent += 1;
      return response;
    },
    sent: () => sent,
  };
}
