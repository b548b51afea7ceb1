import { X402_ERROR_CODES, x402ErrorCode } from '../../src/x402/error-codes.js';
import { Keypair, Operation, StrKey, xdr } from '@stellar/stellar-sdk';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import type { PaymentPayload, PaymentRequired } from '../../src/protocol/x402.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';
import { deviate, hostOp, invokeOpOf, sign, transferArgs, txXdr, unsignedEntry, withTransaction, type PaymentOverrides } from '../helpers/payments.js';

const ROUTE = '/cards/create/tier/25';
const BODY = { nameOnCard: 'Rex Reject', email: 'rex@example.com' };

let h: PaidHarness;
let agent: Keypair;
let required: PaymentRequired;
let price: bigint;
let payTo: string;
let asset: string;

beforeAll(async () => {
  h = await makePaidHarness({ env: { STELLAR_MAX_FEE_STROOPS: '500000' } });
  agent = h.agent(1_000n * USDC);
  const res = await fetch(h.baseUrl + ROUTE, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(BODY) });
  required = await readPaymentRequired(res);
  price = BigInt(required.accepts[0]!.amount);
  payTo = required.accepts[0]!.payTo;
  asset = required.accepts[0]!.asset;
});
afterAll(async () => {
  await h.close();
});

const payer = () => ({ keypair: agent, networkPassphrase: LOCALNET_PASSPHRASE, rpc: h.ledgerServer.rpcUrl, ledgerSeconds: h.config.x402.ledgerSeconds });
const valid = async (overrides: PaymentOverrides = {}) => deviate(await createExactPayment(required, payer()), agent, overrides);
const expiry = () => h.localnet.latestLedger() + 10;
const channel = () => h.keys.channels[0]!;

/** A validly signed payment whose invocation and auth are whatever the case says. */
async function crafted(args: {
  invoke?: xdr.InvokeContractArgs;
  authInvoke?: xdr.InvokeContractArgs;
  signer?: Keypair;
  authAddress?: string;
  sub?: xdr.SorobanAuthorizedInvocation[];
  source?: string;
  opSource?: string;
  fee?: string;
}): Promise<PaymentPayload> {
  const invoke = args.invoke ?? transferArgs(asset, agent.publicKey(), payTo, price);
  const entry = await sign(unsignedEntry(args.authInvoke ?? invoke, args.authAddress ?? agent.publicKey(), args.sub), args.signer ?? agent, expiry());
  const base = await valid({ expirationLedger: expiry() });
  return withTransaction(base, txXdr([hostOp(invoke, [entry], args.opSource)], { ...(args.source ? { source: args.source } : {}), ...(args.fee ? { fee: args.fee } : {}) }));
}

async function withAuth(mutate: (entries: xdr.SorobanAuthorizationEntry[]) => Promise<xdr.SorobanAuthorizationEntry[]>): Promise<PaymentPayload> {
  const base = await valid({ expirationLedger: expiry() });
  const op = invokeOpOf(base);
  const invoke = op.func.invokeContract();
  return withTransaction(base, txXdr([hostOp(invoke, await mutate(op.auth ?? []))]));
}

type Case = [reason: string, build: () => Promise<PaymentPayload | string>];

const cases: Case[] = [
  ['invalid_payment_header', async () => 'not base64 and not json!'],
  ['unsupported_version', async () => ({ ...(await valid()), x402Version: 1 })],
  ['unsupported_scheme', async () => { const p = await valid(); return { ...p, accepted: { ...p.accepted, scheme: 'upto' } }; }],
  ['network_mismatch', async () => { const p = await valid(); return { ...p, accepted: { ...p.accepted, network: 'stellar:pubnet' } }; }],
  ['requirements_mismatch', async () => { const p = await valid(); return { ...p, accepted: { ...p.accepted, amount: '1' } }; }],
  ['invalid_transaction', async () => withTransaction(await valid(), Buffer.from('garbage').toString('base64'))],
  ['wrong_operation_count', async () => {
    const base = await valid({ expirationLedger: expiry() });
    const op = invokeOpOf(base);
    const one = hostOp(op.func.invokeContract(), op.auth ?? []);
    return withTransaction(base, txXdr([one, Operation.bumpSequence({ bumpTo: '1' })]));
  }],
  ['wrong_operation', async () => withTransaction(await valid(), txXdr([Operation.bumpSequence({ bumpTo: '1' })]))],
  // Validly signed payments for a different asset, recipient or amount than this request costs.
  ['wrong_asset', async () => valid({ asset: StrKey.encodeContract(randomBytes(32)) })],
  ['wrong_function', async () => crafted({ invoke: transferArgs(asset, agent.publicKey(), payTo, price, 'approve') })],
  ['invalid_arguments', async () => crafted({ invoke: transferArgs(asset, agent.publicKey(), payTo, price, 'transfer', 'u64') })],
  ['wrong_recipient', async () => valid({ payTo: h.agent(0n).publicKey() })],
  ['wrong_amount', async () => valid({ amount: price - 1n })],
  // Payloads that name the facilitator.
  ['facilitator_is_source', async () => crafted({ source: channel().publicKey() })],
  ['facilitator_is_source', async () => crafted({ opSource: channel().publicKey() })],
  ['facilitator_is_payer', async () => {
    const invoke = transferArgs(asset, channel().publicKey(), payTo, price);
    return crafted({ invoke, signer: channel(), authAddress: channel().publicKey() });
  }],
  ['facilitator_in_auth', async () => crafted({ signer: channel(), authAddress: channel().publicKey() })],
  ['unsupported_payer', async () => {
    const contractPayer = StrKey.encodeContract(randomBytes(32));
    return crafted({ invoke: transferArgs(asset, contractPayer, payTo, price), authAddress: contractPayer });
  }],
  ['no_auth_entries', async () => withAuth(async () => [])],
  ['unexpected_auth_entries', async () => withAuth(async (entries) => {
    const invoke = invokeOpOf(await valid()).func.invokeContract();
    return [...entries, await sign(unsignedEntry(invoke, agent.publicKey()), agent, expiry())];
  })],
  ['unsupported_credentials', async () => withAuth(async (entries) => [
    new xdr.SorobanAuthorizationEntry({ credentials: xdr.SorobanCredentials.sorobanCredentialsSourceAccount(), rootInvocation: entries[0]!.rootInvocation() }),
  ])],
  ['auth_not_payer', async () => { const other = Keypair.random(); return crafted({ signer: other, authAddress: other.publicKey() }); }],
  ['auth_has_subinvocations', async () => {
    const inner = new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(transferArgs(asset, agent.publicKey(), Keypair.random().publicKey(), 1n)),
      subInvocations: [],
    });
    return crafted({ sub: [inner] });
  }],
  ['auth_wrong_invocation', async () => crafted({ authInvoke: transferArgs(asset, agent.publicKey(), payTo, price + 1n) })],
  ['missing_signature', async () => withAuth(async (entries) => {
    const entry = xdr.SorobanAuthorizationEntry.fromXDR(entries[0]!.toXDR());
    entry.credentials().address().signature(xdr.ScVal.scvVoid());
    return [entry];
  })],
  ['invalid_signature', async () => crafted({ signer: Keypair.random() })],
  ['invalid_signature', async () => withAuth(async (entries) => {
    // The payer's own signature, but over a different expiration than the entry states.
    const entry = xdr.SorobanAuthorizationEntry.fromXDR(entries[0]!.toXDR());
    entry.credentials().address().signatureExpirationLedger(entry.credentials().address().signatureExpirationLedger() + 1);
    return [entry];
  })],
  ['expired', async () => valid({ expirationLedger: h.localnet.latestLedger() })],
  ['expiration_too_far', async () => valid({ expirationLedger: h.localnet.latestLedger() + 1_000 })],
  ['fee_too_high', async () => crafted({ fee: '500001' })],
  ['simulation_failed', async () => {
    const broke = h.agent(0n);
    const invoke = transferArgs(asset, broke.publicKey(), payTo, price);
    return crafted({ invoke, signer: broke, authAddress: broke.publicKey() });
  }],
];

describe('paid routes reject bad payments with a stable reason, before any money moves', () => {
  it.each(cases)('%s', async (reason, build) => {
    const built = await build();
    const header = typeof built === 'string' ? built : encodePayment(built);
    const before = { agent: h.localnet.usdcBalance(agent.publicKey()), treasury: h.localnet.usdcBalance(payTo) };
    const res = await fetch(h.baseUrl + ROUTE, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'PAYMENT-SIGNATURE': header },
      body: JSON.stringify(BODY),
    });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(402);
    expect(body.reason, JSON.stringify(body)).toBe(reason);
    // Beside it, the x402 standard code that x402 clients read.
    expect(body.error, JSON.stringify(body)).toBe(x402ErrorCode(reason));
    expect(X402_ERROR_CODES).toContain(body.error);
    expect(body.accepts[0].amount).toBe(price.toString());
    expect(decodeJsonHeader<PaymentRequired>(res.headers.get('PAYMENT-REQUIRED')!)).toMatchObject({ error: x402ErrorCode(reason), reason });
    // Give any (wrongly) submitted transaction time to land, then prove nothing moved.
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before.agent);
    expect(h.localnet.usdcBalance(payTo)).toBe(before.treasury);
    const settled = await h.db.selectFrom('payments').select('id').where('status', '!=', 'failed').execute();
    expect(settled).toEqual([]);
  });

  it('accepts the same valid payment those cases were derived from (the cases fail for their reason only)', async () => {
    const payment = await valid();
    const res = await fetch(h.baseUrl + ROUTE, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-PAYMENT': encodePayment(payment) },
      body: JSON.stringify(BODY),
    });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(201);
    await h.db.deleteFrom('card_ledger_entries').execute();
    await h.db.deleteFrom('payments').execute();
  });
});
