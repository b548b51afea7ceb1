import { Keypair, rpc, xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { USDC, buildTx, fundedAccount, prepareAndSign, signedPayerAuth, startLocalnet, transferOp, type Harness } from './helpers.js';

describe('stellar-sdk rpc.Server against the localnet over HTTP', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startLocalnet();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers getNetwork, getHealth and getLatestLedger with the real field names', async () => {
    const net = await h.rpc.getNetwork();
    expect(net.passphrase).toBe(LOCALNET_PASSPHRASE);
    expect(net.protocolVersion).toBe(23);
    const health = await h.rpc.getHealth();
    expect(health.status).toBe('healthy');
    const latest = await h.rpc.getLatestLedger();
    expect(latest.sequence).toBe(h.localnet.latestLedger());
    expect(latest.id).toMatch(/^[0-9a-f]{64}$/);
    await h.localnet.closeLedger();
    expect((await h.rpc.getLatestLedger()).sequence).toBe(latest.sequence + 1);
  });

  it('settles a source-account transfer end to end: prepare, send, poll to SUCCESS, balances and fee move', async () => {
    const payer = fundedAccount(h.localnet, 100n * USDC);
    const payee = fundedAccount(h.localnet);
    const account = await h.rpc.getAccount(payer.publicKey());
    expect(account.sequenceNumber()).toMatch(/^\d+$/);

    const tx = await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), 25n * USDC));
    const sim = await h.rpc.simulateTransaction(tx);
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error);
    // The payer is the tx source, so the recorded auth is source-account credentials: no signature needed.
    expect(sim.result?.auth.map((a) => a.credentials().switch().name)).toEqual(['sorobanCredentialsSourceAccount']);
    expect(Number(sim.minResourceFee)).toBeGreaterThan(0);
    expect(Number(sim.minResourceFee)).toBeLessThan(50_000);

    const prepared = await h.rpc.prepareTransaction(tx);
    prepared.sign(payer);
    const xlmBefore = h.localnet.xlmBalance(payer.publicKey());
    const sent = await h.rpc.sendTransaction(prepared);
    expect(sent.status, JSON.stringify(sent)).toBe('PENDING');
    expect((await h.rpc.getTransaction(sent.hash)).status).toBe('NOT_FOUND');

    const closed = await h.localnet.closeLedger();
    expect(closed.applied).toBe(1);
    const got = await h.rpc.pollTransaction(sent.hash, { attempts: 3 });
    expect(got.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    expect(got.ledger).toBe(closed.sequence);
    expect(got.applicationOrder).toBe(1);
    expect(got.feeBump).toBe(false);
    expect(got.resultMetaXdr.switch()).toBe(4);
    const feeCharged = BigInt(got.resultXdr.feeCharged().toString());
    expect(feeCharged).toBeGreaterThan(100n);
    expect(feeCharged).toBeLessThanOrEqual(BigInt(prepared.fee));

    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(75n * USDC);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(25n * USDC);
    expect(h.localnet.xlmBalance(payer.publicKey())).toBe(xlmBefore - feeCharged);
    const after = await h.rpc.getAccount(payer.publicKey());
    expect(after.sequenceNumber()).toBe(prepared.sequence);
  });

  it('settles an x402-style payment: payer signs only the auth entry, a channel account sources and pays the fee', async () => {
    const payer = fundedAccount(h.localnet, 10n * USDC);
    const payee = fundedAccount(h.localnet);
    const channel = fundedAccount(h.localnet);
    const auth = await signedPayerAuth(h, payer, payee.publicKey(), 3n * USDC, { channel: channel.publicKey() });
    expect(auth.credentials().switch().name).toBe('sorobanCredentialsAddress');

    const tx = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), 3n * USDC, [auth]));
    const payerXlm = h.localnet.xlmBalance(payer.publicKey());
    const channelXlm = h.localnet.xlmBalance(channel.publicKey());
    const sent = await h.rpc.sendTransaction(tx);
    expect(sent.status, JSON.stringify(sent)).toBe('PENDING');
    await h.localnet.closeLedger();
    const got = await h.rpc.getTransaction(sent.hash);
    expect(got.status).toBe('SUCCESS');
    if (got.status !== rpc.Api.GetTransactionStatus.SUCCESS) return;
    const events = got.events?.contractEventsXdr[0] ?? [];
    expect(events).toHaveLength(1);
    const topics = events[0]!.body().v0().topics();
    expect(topics[0]!.sym().toString()).toBe('transfer');

    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(7n * USDC);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(3n * USDC);
    expect(h.localnet.xlmBalance(payer.publicKey())).toBe(payerXlm);
    expect(h.localnet.xlmBalance(channel.publicKey())).toBe(channelXlm - BigInt(got.resultXdr.feeCharged().toString()));
  });

  it('answers a batch of getTransaction requests by id: our client looks up landed and unknown transactions in one HTTP request', async () => {
    const payers = [fundedAccount(h.localnet, 10n * USDC), fundedAccount(h.localnet, 10n * USDC)];
    const payee = fundedAccount(h.localnet);
    const landed: string[] = [];
    for (const payer of payers) {
      const tx = await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), USDC));
      const prepared = await h.rpc.prepareTransaction(tx);
      prepared.sign(payer);
      landed.push((await h.rpc.sendTransaction(prepared)).hash);
    }
    const closed = await h.localnet.closeLedger();
    const unknown = 'ab'.repeat(32);
    const bodies: unknown[] = [];
    const client = new SorobanRpc(h.server.rpcUrl, {
      fetch: (input, init) => {
        bodies.push(JSON.parse(String(init.body)));
        return fetch(input, init);
      },
    });
    const found = await client.transactions([...landed, unknown]);
    expect(bodies).toHaveLength(1);
    expect(Array.isArray(bodies[0])).toBe(true);
    expect(found).toEqual(
      new Map<string, unknown>([
        [landed[0]!, { status: 'SUCCESS', ledger: closed.sequence }],
        [landed[1]!, { status: 'SUCCESS', ledger: closed.sequence }],
        [unknown, { status: 'NOT_FOUND', latestLedger: closed.sequence }],
      ]),
    );
  });

  it('serves account entries through getLedgerEntries as LedgerEntryData XDR', async () => {
    const kp = Keypair.random();
    h.localnet.fundXlm(kp.publicKey());
    const key = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: kp.xdrAccountId() }));
    const res = await h.rpc.getLedgerEntries(key);
    expect(res.entries).toHaveLength(1);
    expect(res.entries[0]!.val.account().balance().toString()).toBe('100000000000');
    const missing = Keypair.random();
    const none = await h.rpc.getLedgerEntries(xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: missing.xdrAccountId() })));
    expect(none.entries).toHaveLength(0);
  });
});
