import { Asset, Keypair, Operation, TransactionBuilder, xdr, type Account } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { startLocalnet, type Harness } from './helpers.js';

const XLM = 10_000_000n;

/** createAccount and XLM payments: what card402 needs to create and top up its channel accounts. */
describe('localnet: classic createAccount and XLM payment', () => {
  let h: Harness;
  const funder = Keypair.random();
  beforeEach(async () => {
    h = await startLocalnet();
    h.localnet.fundXlm(funder.publicKey(), 1000n * XLM);
  });
  afterEach(() => h.close());

  async function send(ops: xdr.Operation[], fee = 100) {
    const account: Account = await h.rpc.getAccount(funder.publicKey());
    let b = new TransactionBuilder(account, { fee: String(fee), networkPassphrase: LOCALNET_PASSPHRASE });
    for (const op of ops) b = b.addOperation(op);
    const tx = b.setTimeout(60).build();
    tx.sign(funder);
    const sent = await h.rpc.sendTransaction(tx);
    if (sent.status !== 'PENDING') return { sent, result: undefined };
    await h.localnet.closeLedger();
    return { sent, result: await h.rpc.getTransaction(sent.hash) };
  }

  it('creates 100 accounts in one transaction, charging 100 stroops per operation', async () => {
    const accounts = Array.from({ length: 100 }, () => Keypair.random().publicKey());
    const { result } = await send(accounts.map((destination) => Operation.createAccount({ destination, startingBalance: '2.5' })));
    expect(result?.status).toBe('SUCCESS');
    expect(accounts.map((a) => h.localnet.xlmBalance(a))).toEqual(accounts.map(() => 25n * XLM / 10n));
    expect(h.localnet.xlmBalance(funder.publicKey())).toBe(1000n * XLM - 250n * XLM - 100n * 100n);
  });

  it('fails the whole transaction when one operation fails (an account that exists): nothing moves but the fee', async () => {
    const fresh = Keypair.random().publicKey();
    const existing = Keypair.random().publicKey();
    h.localnet.fundXlm(existing, 3n * XLM);
    const { result } = await send([
      Operation.createAccount({ destination: fresh, startingBalance: '2' }),
      Operation.createAccount({ destination: existing, startingBalance: '2' }),
    ]);
    expect(result?.status).toBe('FAILED');
    const codes = (result as { resultXdr: xdr.TransactionResult }).resultXdr.result().results().map((r) => r.tr().createAccountResult().switch().name);
    expect(codes).toEqual(['createAccountSuccess', 'createAccountAlreadyExist']);
    expect(h.localnet.xlmBalance(fresh)).toBe(0n);
    expect(h.localnet.xlmBalance(existing)).toBe(3n * XLM);
    expect(h.localnet.xlmBalance(funder.publicKey())).toBe(1000n * XLM - 200n);
  });

  it('pays XLM to existing accounts; a missing destination fails the transaction', async () => {
    const target = Keypair.random().publicKey();
    h.localnet.fundXlm(target, 2n * XLM);
    const ok = await send([Operation.payment({ destination: target, asset: Asset.native(), amount: '5' })]);
    expect(ok.result?.status).toBe('SUCCESS');
    expect(h.localnet.xlmBalance(target)).toBe(7n * XLM);
    const missing = await send([Operation.payment({ destination: Keypair.random().publicKey(), asset: Asset.native(), amount: '5' })]);
    expect(missing.result?.status).toBe('FAILED');
  });

  it('refuses classic operations it does not model (txNOT_SUPPORTED)', async () => {
    const other = await send([Operation.bumpSequence({ bumpTo: '1' })]);
    expect(other.sent.status).toBe('ERROR');
    expect(other.sent.errorResult?.result().switch().name).toBe('txNotSupported');
  });
});
