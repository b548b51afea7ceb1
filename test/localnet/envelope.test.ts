import { Account, Keypair, TransactionBuilder, authorizeEntry, rpc, xdr, type Transaction } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import {
  USDC,
  buildTx,
  fundedAccount,
  opResultCode,
  prepareAndSign,
  recordedAuth,
  signedPayerAuth,
  startLocalnet,
  transferOp,
  txResultCode,
  withAuth,
  type Harness,
} from './helpers.js';

describe('localnet envelopes: fee bumps, fees, time bounds, footprints, source-account auth', () => {
  let h: Harness;
  let clockMs: number;
  let payer: Keypair;
  let payee: Keypair;
  let channel: Keypair;
  const amount = 2n * USDC;

  beforeEach(async () => {
    // Starts at the real time because stellar-sdk's setTimeout() derives time bounds from Date.now().
    clockMs = Date.now();
    h = await startLocalnet({ startedAtMs: () => clockMs });
    payer = fundedAccount(h.localnet, 10n * USDC);
    payee = fundedAccount(h.localnet);
    channel = fundedAccount(h.localnet);
  });
  afterEach(async () => {
    await h.close();
  });

  async function paymentTx(): Promise<Transaction> {
    return prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() })]));
  }

  it('fee bump: inner and outer signatures checked, the fee source pays, feeBump reported', async () => {
    const sponsor = fundedAccount(h.localnet);
    const inner = await paymentTx();
    const bump = TransactionBuilder.buildFeeBumpTransaction(sponsor, String(Number(inner.fee) + 100), inner, LOCALNET_PASSPHRASE);
    bump.sign(sponsor);
    const channelXlm = h.localnet.xlmBalance(channel.publicKey());
    const sponsorXlm = h.localnet.xlmBalance(sponsor.publicKey());
    const sent = await h.rpc.sendTransaction(bump);
    expect(sent.status, JSON.stringify(sent)).toBe('PENDING');
    expect(sent.hash).toBe(bump.hash().toString('hex'));
    await h.localnet.closeLedger();
    const got = await h.rpc.getTransaction(sent.hash);
    expect(got.status).toBe('SUCCESS');
    if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(got.feeBump).toBe(true);
    expect(txResultCode(got.resultXdr)).toBe('txFeeBumpInnerSuccess');
    expect(got.envelopeXdr.switch().name).toBe('envelopeTypeTxFeeBump');
    const fee = BigInt(got.resultXdr.feeCharged().toString());
    expect(h.localnet.xlmBalance(sponsor.publicKey())).toBe(sponsorXlm - fee);
    expect(h.localnet.xlmBalance(channel.publicKey())).toBe(channelXlm);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(amount);
  });

  it('fee bump with a bad outer signature is txBAD_AUTH; with a bad inner signature txFEE_BUMP_INNER_FAILED', async () => {
    const sponsor = fundedAccount(h.localnet);
    const inner = await paymentTx();
    const badOuter = TransactionBuilder.buildFeeBumpTransaction(sponsor, String(Number(inner.fee) + 100), inner, LOCALNET_PASSPHRASE);
    badOuter.sign(Keypair.random());
    const r1 = await h.rpc.sendTransaction(badOuter);
    expect(r1.errorResult && txResultCode(r1.errorResult)).toBe('txBadAuth');

    const unsignedInner = await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() })])));
    unsignedInner.sign(Keypair.random());
    const badInner = TransactionBuilder.buildFeeBumpTransaction(sponsor, String(Number(unsignedInner.fee) + 100), unsignedInner as Transaction, LOCALNET_PASSPHRASE);
    badInner.sign(sponsor);
    const r2 = await h.rpc.sendTransaction(badInner);
    expect(r2.status).toBe('ERROR');
    expect(r2.errorResult && txResultCode(r2.errorResult)).toBe('txFeeBumpInnerFailed');
    expect(r2.errorResult?.result().innerResultPair().result().result().switch().name).toBe('txBadAuth');
  });

  it('a fee below inclusion + resource fee is txINSUFFICIENT_FEE; a resource fee below the declared resources is txSOROBAN_INVALID', async () => {
    const prepared = await paymentTx();
    const data = prepared.toEnvelope().v1().tx().ext().sorobanData();
    const resourceFee = BigInt(data.resourceFee().toString());
    const account = new Account(channel.publicKey(), (BigInt(prepared.sequence) - 1n).toString());
    const rawOp = prepared.toEnvelope().v1().tx().operations()[0]!;

    // TransactionBuilder adds the resource fee to `fee`; a zero inclusion fee leaves it short by 100.
    const cheap = new TransactionBuilder(account, { fee: '0', networkPassphrase: LOCALNET_PASSPHRASE, sorobanData: data }).addOperation(rawOp).setTimeout(60).build();
    cheap.sign(channel);
    expect(BigInt(cheap.fee)).toBe(resourceFee);
    const r1 = await h.rpc.sendTransaction(cheap);
    expect(r1.errorResult && txResultCode(r1.errorResult)).toBe('txInsufficientFee');

    const starved = xdr.SorobanTransactionData.fromXDR(data.toXDR());
    starved.resourceFee(xdr.Int64.fromString('10'));
    const low = new TransactionBuilder(account, { fee: '100000', networkPassphrase: LOCALNET_PASSPHRASE, sorobanData: starved }).addOperation(rawOp).setTimeout(60).build();
    low.sign(channel);
    const r2 = await h.rpc.sendTransaction(low);
    expect(r2.errorResult && txResultCode(r2.errorResult)).toBe('txSorobanInvalid');
  });

  it('time bounds: past maxTime is txTOO_LATE at send; a queued tx whose bound passes before close is dropped, never FAILED', async () => {
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() });
    const account = await h.rpc.getAccount(channel.publicKey());
    const nowSec = Math.floor(clockMs / 1000);
    const build = (maxTime: number) =>
      new TransactionBuilder(new Account(channel.publicKey(), account.sequenceNumber()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE, timebounds: { minTime: 0, maxTime } })
        .addOperation(transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]))
        .build();
    const expired = await h.rpc.prepareTransaction(build(nowSec - 1));
    expired.sign(channel);
    const r1 = await h.rpc.sendTransaction(expired);
    expect(r1.errorResult && txResultCode(r1.errorResult)).toBe('txTooLate');

    const tight = await h.rpc.prepareTransaction(build(nowSec + 5));
    tight.sign(channel);
    const r2 = await h.rpc.sendTransaction(tight);
    expect(r2.status).toBe('PENDING');
    clockMs += 10_000;
    expect((await h.localnet.closeLedger()).applied).toBe(0);
    expect((await h.rpc.getTransaction(r2.hash)).status).toBe('NOT_FOUND');
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(0n);
    // Its sequence number was never consumed.
    expect((await h.rpc.getAccount(channel.publicKey())).sequenceNumber()).toBe(account.sequenceNumber());
  });

  it('auth swapped in after simulation (new nonce outside the footprint) fails at apply with a resource-limit error', async () => {
    const tx = await paymentTx();
    const other = await authorizeEntry(await recordedAuth(h, payer.publicKey(), payee.publicKey(), amount, channel.publicKey()), payer, h.localnet.latestLedger() + 10, LOCALNET_PASSPHRASE);
    const unsigned = withAuth(await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [tx.toEnvelope().v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth()[0]!]))), [other]);
    unsigned.sign(channel);
    const sent = await h.rpc.sendTransaction(unsigned);
    expect(sent.status).toBe('PENDING');
    await h.localnet.closeLedger();
    const got = await h.rpc.getTransaction(sent.hash);
    expect(got.status).toBe('FAILED');
    if (got.status !== rpc.Api.GetTransactionStatus.FAILED) return;
    expect(opResultCode(got.resultXdr)).toBe('invokeHostFunctionResourceLimitExceeded');
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(0n);
  });

  it('source-account credentials authorize only the tx source: a channel cannot move the payer funds with them', async () => {
    const fn = xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
      transferOp(payer.publicKey(), payee.publicKey(), amount).body().invokeHostFunctionOp().hostFunction().invokeContract(),
    );
    const forged = new xdr.SorobanAuthorizationEntry({
      credentials: xdr.SorobanCredentials.sorobanCredentialsSourceAccount(),
      rootInvocation: new xdr.SorobanAuthorizedInvocation({ function: fn, subInvocations: [] }),
    });
    const sim = await h.rpc.simulateTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [forged])));
    expect(rpc.Api.isSimulationError(sim) && sim.error).toContain('auth_not_authorized');

    // Same forged entry, footprint borrowed from a legitimate preparation, straight to apply.
    const legit = await h.rpc.prepareTransaction(await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount)));
    const data = legit.toEnvelope().v1().tx().ext().sorobanData();
    const tx = new TransactionBuilder(await h.rpc.getAccount(channel.publicKey()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE, sorobanData: data })
      .addOperation(transferOp(payer.publicKey(), payee.publicKey(), amount, [forged]))
      .setTimeout(60)
      .build();
    tx.sign(channel);
    const sent = await h.rpc.sendTransaction(tx);
    expect(sent.status).toBe('PENDING');
    await h.localnet.closeLedger();
    expect((await h.rpc.getTransaction(sent.hash)).status).toBe('FAILED');
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(10n * USDC);
  });
});
