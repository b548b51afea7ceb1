import { Contract, Keypair, Networks, TransactionBuilder, authorizeEntry, nativeToScVal, rpc, type Transaction, type xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localnetNetwork } from '../../src/localnet/index.js';
import { USDC, fundedAccount, startLocalnet, txResultCode, type Harness } from './helpers.js';

const MAINNET_USDC = 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75';

describe('a local ledger posing as pubnet', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startLocalnet({ network: localnetNetwork('stellar:pubnet') });
  });
  afterEach(async () => {
    await h.close();
  });

  const transfer = (from: string, to: string, amount: bigint) =>
    new Contract(MAINNET_USDC).call('transfer', nativeToScVal(from, { type: 'address' }), nativeToScVal(to, { type: 'address' }), nativeToScVal(amount, { type: 'i128' }));

  /** x402's payer and facilitator steps: simulate, sign the auth entry for `authPassphrase`, prepare, sign the tx for `txPassphrase`. */
  async function payment(payer: Keypair, channel: Keypair, to: string, authPassphrase: string, txPassphrase: string): Promise<Transaction> {
    const build = async (op: xdr.Operation) =>
      new TransactionBuilder(await h.rpc.getAccount(channel.publicKey()), { fee: '100', networkPassphrase: txPassphrase }).addOperation(op).setTimeout(60).build();
    const sim = await h.rpc.simulateTransaction(await build(transfer(payer.publicKey(), to, 2n * USDC)));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulation failed: ${sim.error}`);
    const [entry] = sim.result?.auth ?? [];
    if (!entry) throw new Error('simulation recorded no auth entry');
    const signed = await authorizeEntry(entry, payer, h.localnet.latestLedger() + 12, authPassphrase);
    const op = transfer(payer.publicKey(), to, 2n * USDC);
    op.body().invokeHostFunctionOp().auth([signed]);
    const prepared = (await h.rpc.prepareTransaction(await build(op))) as Transaction;
    prepared.sign(channel);
    return prepared;
  }

  it('answers getNetwork with the mainnet passphrase and serves the mainnet USDC contract', async () => {
    expect((await h.rpc.getNetwork()).passphrase).toBe(Networks.PUBLIC);
    expect(h.localnet.network).toMatchObject({ network: 'stellar:pubnet', usdcContract: MAINNET_USDC });
    expect(h.localnet.network.usdcAssetString).toBe('USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN');
  });

  it('settles a transfer on the mainnet USDC contract signed for the mainnet passphrase', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const channel = fundedAccount(h.localnet);
    const payee = Keypair.random().publicKey();
    h.localnet.fundXlm(payee);
    h.localnet.mintUsdc(payee, 0n);
    const tx = await payment(payer, channel, payee, Networks.PUBLIC, Networks.PUBLIC);
    const sent = await h.rpc.sendTransaction(tx);
    expect(sent.status).toBe('PENDING');
    await h.localnet.closeLedger();
    const got = await h.rpc.getTransaction(sent.hash);
    expect(got.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(3n * USDC);
    expect(h.localnet.usdcBalance(payee)).toBe(2n * USDC);
  });

  it('refuses an auth entry signed for testnet', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const channel = fundedAccount(h.localnet);
    await expect(payment(payer, channel, channel.publicKey(), Networks.TESTNET, Networks.PUBLIC)).rejects.toThrow(/auth_bad_signature: signature by .* does not verify/);
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(5n * USDC);
  });

  it('refuses the same transfer when the transaction is signed for testnet', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const channel = fundedAccount(h.localnet);
    const pubnetTx = await payment(payer, channel, channel.publicKey(), Networks.PUBLIC, Networks.PUBLIC);
    const testnetTx = TransactionBuilder.fromXDR(pubnetTx.toEnvelope().toXDR('base64'), Networks.TESTNET) as Transaction;
    testnetTx.signatures.splice(0);
    testnetTx.sign(channel);
    const sent = await h.rpc.sendTransaction(testnetTx);
    expect(sent.status).toBe('ERROR');
    expect(txResultCode(sent.errorResult!)).toBe('txBadAuth');
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(5n * USDC);
  });
});
