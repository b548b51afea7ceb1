import { Account, Keypair, Networks, TransactionBuilder, authorizeEntry, nativeToScVal, rpc, xdr } from '@stellar/stellar-sdk';
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

const clone = (e: xdr.SorobanAuthorizationEntry) => xdr.SorobanAuthorizationEntry.fromXDR(e.toXDR());

function tamperSignature(signed: xdr.SorobanAuthorizationEntry): xdr.SorobanAuthorizationEntry {
  const out = clone(signed);
  const sigMap = out.credentials().address().signature().vec()![0]!.map()!;
  const sigEntry = sigMap[1]!;
  const bytes = Buffer.from(sigEntry.val().bytes());
  bytes[10] = bytes[10]! ^ 0x01;
  sigEntry.val(xdr.ScVal.scvBytes(bytes));
  return out;
}

function withAmount(entry: xdr.SorobanAuthorizationEntry, amount: bigint): xdr.SorobanAuthorizationEntry {
  const out = clone(entry);
  const args = out.rootInvocation().function().contractFn().args();
  args[2] = nativeToScVal(amount, { type: 'i128' });
  return out;
}

async function simulationError(h: Harness, channel: Keypair, op: xdr.Operation): Promise<string> {
  const sim = await h.rpc.simulateTransaction(await buildTx(h, channel.publicKey(), op));
  if (rpc.Api.isSimulationSuccess(sim)) return 'simulation succeeded';
  return sim.error;
}

describe('localnet rejects what the network rejects', () => {
  let h: Harness;
  let payer: Keypair;
  let payee: Keypair;
  let channel: Keypair;
  const amount = 5n * USDC;

  beforeEach(async () => {
    h = await startLocalnet();
    payer = fundedAccount(h.localnet, 20n * USDC);
    payee = fundedAccount(h.localnet);
    channel = fundedAccount(h.localnet);
  });
  afterEach(async () => {
    await h.close();
  });

  /** Sends `tx`, closes a ledger and returns the applied result. */
  async function applied(tx: { sign(k: Keypair): void } & Parameters<rpc.Server['sendTransaction']>[0]) {
    const sent = await h.rpc.sendTransaction(tx);
    expect(sent.status, JSON.stringify(sent)).toBe('PENDING');
    await h.localnet.closeLedger();
    const got = await h.rpc.getTransaction(sent.hash);
    expect(got.status).not.toBe('NOT_FOUND');
    if (got.status === rpc.Api.GetTransactionStatus.NOT_FOUND) throw new Error('not applied');
    return got;
  }

  // Each bad entry keeps the recorded nonce, so a tx prepared with the valid entry has the right footprint:
  // the only thing wrong with it at apply time is the auth itself.
  const badAuthCases: { name: string; reason: string; bad: (rec: xdr.SorobanAuthorizationEntry, exp: number) => Promise<xdr.SorobanAuthorizationEntry> }[] = [
    { name: 'tampered auth signature', reason: 'auth_bad_signature', bad: async (rec, exp) => tamperSignature(await authorizeEntry(rec, payer, exp, LOCALNET_PASSPHRASE)) },
    { name: 'signature by a key other than from', reason: 'auth_signer_not_account', bad: (rec, exp) => authorizeEntry(rec, Keypair.random(), exp, LOCALNET_PASSPHRASE) },
    { name: 'signed for another network passphrase', reason: 'auth_bad_signature', bad: (rec, exp) => authorizeEntry(rec, payer, exp, Networks.PUBLIC) },
    { name: 'invocation not matching the op', reason: 'auth_not_authorized', bad: (rec, exp) => authorizeEntry(withAmount(rec, 1n), payer, exp, LOCALNET_PASSPHRASE) },
    {
      name: 'unsigned address credentials',
      reason: 'auth_bad_signature_format',
      bad: async (rec, exp) => {
        const out = clone(rec);
        out.credentials().address().signatureExpirationLedger(exp);
        return out;
      },
    },
  ];

  describe.each(badAuthCases)('$name', ({ reason, bad }) => {
    it('fails enforcing simulation with the reason', async () => {
      const rec = await recordedAuth(h, payer.publicKey(), payee.publicKey(), amount, channel.publicKey());
      const entry = await bad(rec, h.localnet.latestLedger() + 10);
      const error = await simulationError(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]));
      expect(error).toContain(reason);
    });

    it('fails at apply time: FAILED, fee charged, balances and nonce untouched', async () => {
      const exp = h.localnet.latestLedger() + 10;
      const rec = await recordedAuth(h, payer.publicKey(), payee.publicKey(), amount, channel.publicKey());
      const good = await authorizeEntry(rec, payer, exp, LOCALNET_PASSPHRASE);
      const prepared = await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [good])));
      const tx = withAuth(prepared, [await bad(rec, exp)]);
      tx.sign(channel);
      const channelXlm = h.localnet.xlmBalance(channel.publicKey());
      const got = await applied(tx);
      expect(got.status).toBe('FAILED');
      expect(txResultCode(got.resultXdr)).toBe('txFailed');
      expect(opResultCode(got.resultXdr)).toBe('invokeHostFunctionTrapped');
      expect(h.localnet.usdcBalance(payer.publicKey())).toBe(20n * USDC);
      expect(h.localnet.usdcBalance(payee.publicKey())).toBe(0n);
      expect(h.localnet.xlmBalance(channel.publicKey())).toBeLessThan(channelXlm);

      // The failed attempt did not burn the nonce: the genuine entry still settles.
      const retry = withAuth(await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [good]))), [good]);
      retry.sign(channel);
      expect((await applied(retry)).status).toBe('SUCCESS');
      expect(h.localnet.usdcBalance(payee.publicKey())).toBe(amount);
    });
  });

  it('reused nonce: a settled auth entry cannot be replayed, in simulation or at apply', async () => {
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() });
    const first = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]));
    expect((await applied(first)).status).toBe('SUCCESS');

    expect(await simulationError(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]))).toContain('auth_nonce_reused');

    // Replay with the first tx's own footprint and fee, from another channel (a fresh sequence number).
    const other = fundedAccount(h.localnet);
    const replay = TransactionBuilder.cloneFrom(first, { fee: String(Number(first.fee) - Number(first.toEnvelope().v1().tx().ext().sorobanData().resourceFee().toString())) });
    const account = await h.rpc.getAccount(other.publicKey());
    const rebuilt = new TransactionBuilder(account, { fee: replay.build().fee, networkPassphrase: LOCALNET_PASSPHRASE, sorobanData: first.toEnvelope().v1().tx().ext().sorobanData() })
      .addOperation(transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]))
      .setTimeout(60)
      .build();
    rebuilt.sign(other);
    const got = await applied(rebuilt);
    expect(got.status).toBe('FAILED');
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(20n * USDC - amount);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(amount);
  });

  it('expired entry: rejected in simulation and when the ledger passes its expiration before apply', async () => {
    const stale = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey(), expiration: h.localnet.latestLedger() });
    expect(await simulationError(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [stale]))).toContain('auth_expired');

    // Valid for exactly the next ledger; an empty ledger closes first, so it is applied one ledger too late.
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey(), expiration: h.localnet.latestLedger() + 1 });
    const tx = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]));
    await h.localnet.closeLedger();
    const got = await applied(tx);
    expect(got.status).toBe('FAILED');
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(0n);
  });

  it('insufficient balance: rejected in simulation and at apply when the balance was spent first', async () => {
    const tooMuch = 21n * USDC;
    // Recording a transfer the balance cannot cover fails too, so sign an entry for a covered amount, then raise it.
    const rec = await recordedAuth(h, payer.publicKey(), payee.publicKey(), amount, channel.publicKey());
    const entry = await authorizeEntry(withAmount(rec, tooMuch), payer, h.localnet.latestLedger() + 10, LOCALNET_PASSPHRASE);
    expect(await simulationError(h, channel, transferOp(payer.publicKey(), payee.publicKey(), tooMuch, [entry]))).toContain('insufficient_balance');

    const spend = 15n * USDC;
    const a = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), spend, [await signedPayerAuth(h, payer, payee.publicKey(), spend, { channel: channel.publicKey() })]));
    const channel2 = fundedAccount(h.localnet);
    const b = await prepareAndSign(h, channel2, transferOp(payer.publicKey(), payee.publicKey(), spend, [await signedPayerAuth(h, payer, payee.publicKey(), spend, { channel: channel2.publicKey() })]));
    const sentA = await h.rpc.sendTransaction(a);
    const sentB = await h.rpc.sendTransaction(b);
    expect([sentA.status, sentB.status]).toEqual(['PENDING', 'PENDING']);
    expect((await h.localnet.closeLedger()).applied).toBe(2);
    expect((await h.rpc.getTransaction(sentA.hash)).status).toBe('SUCCESS');
    const gotB = await h.rpc.getTransaction(sentB.hash);
    expect(gotB.status).toBe('FAILED');
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(5n * USDC);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(spend);
  });

  it('bad envelope signature: ERROR with txBAD_AUTH, nothing queued', async () => {
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() });
    const prepared = await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [entry])));
    prepared.sign(Keypair.random());
    const sent = await h.rpc.sendTransaction(prepared);
    expect(sent.status).toBe('ERROR');
    expect(sent.errorResult && txResultCode(sent.errorResult)).toBe('txBadAuth');
    expect((await h.localnet.closeLedger()).applied).toBe(0);
    expect((await h.rpc.getTransaction(sent.hash)).status).toBe('NOT_FOUND');

    const unsigned = await h.rpc.sendTransaction(await h.rpc.prepareTransaction(await buildTx(h, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]))));
    expect(unsigned.errorResult && txResultCode(unsigned.errorResult)).toBe('txBadAuth');
  });

  it('bad sequence number: ERROR with txBAD_SEQ', async () => {
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() });
    const current = await h.rpc.getAccount(channel.publicKey());
    const skipped = new Account(channel.publicKey(), (BigInt(current.sequenceNumber()) + 1n).toString());
    const tx = new TransactionBuilder(skipped, { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
      .addOperation(transferOp(payer.publicKey(), payee.publicKey(), amount, [entry]))
      .setTimeout(60)
      .build();
    const prepared = await h.rpc.prepareTransaction(tx);
    prepared.sign(channel);
    const sent = await h.rpc.sendTransaction(prepared);
    expect(sent.status).toBe('ERROR');
    expect(sent.errorResult && txResultCode(sent.errorResult)).toBe('txBadSeq');
  });

  it('second pending tx from one source: TRY_AGAIN_LATER, the first still applies', async () => {
    const first = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() })]));
    const second = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), 1n, [await signedPayerAuth(h, payer, payee.publicKey(), 1n, { channel: channel.publicKey() })]));
    expect((await h.rpc.sendTransaction(first)).status).toBe('PENDING');
    const again = await h.rpc.sendTransaction(second);
    expect(again.status).toBe('TRY_AGAIN_LATER');
    expect((await h.localnet.closeLedger()).applied).toBe(1);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(amount);
    expect((await h.rpc.getTransaction(again.hash)).status).toBe('NOT_FOUND');
  });

  it('duplicate submission: DUPLICATE, applied once', async () => {
    const tx = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), amount, [await signedPayerAuth(h, payer, payee.publicKey(), amount, { channel: channel.publicKey() })]));
    const first = await h.rpc.sendTransaction(tx);
    expect(first.status).toBe('PENDING');
    const dup = await h.rpc.sendTransaction(tx);
    expect(dup.status).toBe('DUPLICATE');
    expect(dup.hash).toBe(first.hash);
    expect((await h.localnet.closeLedger()).applied).toBe(1);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(amount);
    // Once applied, the same envelope is stale: its sequence number is used.
    const late = await h.rpc.sendTransaction(tx);
    expect(late.errorResult && txResultCode(late.errorResult)).toBe('txBadSeq');
  });
});
