import { Asset, Contract, Keypair, StrKey, rpc, scValToNative, xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLocalnetEnv } from '../../src/localnet/config.js';
import { LOCALNET_USDC_CONTRACT, LOCALNET_USDC_ISSUER, createLocalnet, type Localnet } from '../../src/localnet/index.js';
import { USDC, buildTx, fundedAccount, prepareAndSign, signedPayerAuth, startLocalnet, transferOp, type Harness } from './helpers.js';

async function call(localnet: Localnet, body: string): Promise<Record<string, unknown>> {
  const res = await localnet.fetch(new Request('http://localnet.test/soroban/rpc', { method: 'POST', body, headers: { 'content-type': 'application/json' } }));
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const rpcBody = (method: string, params?: unknown) => JSON.stringify({ jsonrpc: '2.0', id: 7, method, ...(params === undefined ? {} : { params }) });

describe('JSON-RPC errors: bad input gets an error object, never a crash', () => {
  const localnet = createLocalnet({ ledgerMs: 'manual' });
  const cases: { name: string; body: string; code: number }[] = [
    { name: 'body is not JSON', body: '{"jsonrpc": "2.0", ', code: -32700 },
    { name: 'not a JSON-RPC request', body: JSON.stringify({ hello: 'world' }), code: -32600 },
    { name: 'unknown method', body: rpcBody('getEverything'), code: -32601 },
    { name: 'prototype key as method', body: rpcBody('__proto__'), code: -32601 },
    { name: 'getTransaction without hash', body: rpcBody('getTransaction', {}), code: -32602 },
    { name: 'getTransaction with a short hash', body: rpcBody('getTransaction', { hash: 'abc' }), code: -32602 },
    { name: 'sendTransaction with garbage XDR', body: rpcBody('sendTransaction', { transaction: 'AAAAAgAAAAA=' }), code: -32602 },
    { name: 'sendTransaction with non-base64', body: rpcBody('sendTransaction', { transaction: '!!!' }), code: -32602 },
    { name: 'simulateTransaction with garbage XDR', body: rpcBody('simulateTransaction', { transaction: 'AAAA' }), code: -32602 },
    { name: 'simulateTransaction with an unknown authMode', body: rpcBody('simulateTransaction', { transaction: 'AAAA', authMode: 'yolo' }), code: -32602 },
    { name: 'getLedgerEntries with a bad key', body: rpcBody('getLedgerEntries', { keys: ['AAAA'] }), code: -32602 },
    { name: 'getLedgerEntries with no keys', body: rpcBody('getLedgerEntries', { keys: [] }), code: -32602 },
    { name: 'params where none are taken', body: rpcBody('getHealth', { surprise: 1 }), code: -32602 },
  ];
  it.each(cases)('$name → $code', async ({ body, code }) => {
    const res = await call(localnet, body);
    expect(res.jsonrpc).toBe('2.0');
    expect((res.error as { code: number }).code, JSON.stringify(res)).toBe(code);
    expect(JSON.stringify(res)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('answers a batch element by element', async () => {
    const res = (await localnet.fetch(new Request('http://localnet.test/soroban/rpc', { method: 'POST', body: `[${rpcBody('getHealth')},${rpcBody('nope')}]` })).then((r) => r.json())) as Record<string, unknown>[];
    expect(res).toHaveLength(2);
    expect(res[0]?.result).toMatchObject({ status: 'healthy' });
    expect((res[1]?.error as { code: number }).code).toBe(-32601);
  });
});

describe('localnet friendbot, ledger entries, read-only calls, faults and clock', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startLocalnet();
  });
  afterEach(async () => {
    await h.close();
  });

  it('friendbot creates with 10,000 XLM, says so for an existing account, mints USDC, rejects bad input', async () => {
    const kp = Keypair.random();
    const get = (q: string) => fetch(`${h.server.url}/friendbot?${q}`);
    const created = await get(`addr=${kp.publicKey()}`);
    expect(created.status).toBe(200);
    expect(h.localnet.xlmBalance(kp.publicKey())).toBe(10_000n * 10_000_000n);
    const again = await get(`addr=${kp.publicKey()}`);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { detail: string }).detail).toContain('createAccountAlreadyExist');
    expect(h.localnet.xlmBalance(kp.publicKey())).toBe(10_000n * 10_000_000n);

    const minted = await get(`addr=${kp.publicKey()}&asset=USDC&amount=12.5`);
    expect(minted.status).toBe(200);
    expect(h.localnet.usdcBalance(kp.publicKey())).toBe(125_000_000n);
    expect((await get(`addr=${kp.publicKey()}&asset=USDC&amount=1.12345678`)).status).toBe(400);
    expect((await get(`addr=${kp.publicKey()}&asset=USDC&amount=-1`)).status).toBe(400);
    expect((await get(`addr=${kp.publicKey()}&asset=EURC&amount=1`)).status).toBe(400);
    expect((await get('addr=GNOPE')).status).toBe(400);
  });

  it("stellar-sdk's requestAirdrop funds through the friendbotUrl getNetwork advertises", async () => {
    const kp = Keypair.random();
    const account = await h.rpc.requestAirdrop(kp.publicKey());
    expect(account.accountId()).toBe(kp.publicKey());
    expect((await h.rpc.getAccount(kp.publicKey())).sequenceNumber()).toBe(account.sequenceNumber());
  });

  it('serves trustline and SAC balance entries; a contract payee is paid into contract data', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const channel = fundedAccount(h.localnet);
    const contractPayee = StrKey.encodeContract(Buffer.alloc(32, 7));
    const tx = await prepareAndSign(h, channel, transferOp(payer.publicKey(), contractPayee, 2n * USDC, [await signedPayerAuth(h, payer, contractPayee, 2n * USDC, { channel: channel.publicKey() })]));
    const sent = await h.rpc.sendTransaction(tx);
    await h.localnet.closeLedger();
    expect((await h.rpc.getTransaction(sent.hash)).status).toBe('SUCCESS');

    const usdc = new Asset('USDC', LOCALNET_USDC_ISSUER);
    const sac = await h.rpc.getSACBalance(contractPayee, usdc);
    expect(sac.balanceEntry?.amount).toBe((2n * USDC).toString());
    const tl = await h.rpc.getTrustline(payer.publicKey(), usdc);
    expect(tl.balance().toString()).toBe((3n * USDC).toString());
  });

  it('simulates the read-only SAC functions: balance, decimals, name, symbol', async () => {
    const holder = fundedAccount(h.localnet, 42n * USDC);
    const contract = new Contract(LOCALNET_USDC_CONTRACT);
    const read = async (op: xdr.Operation) => {
      const sim = await h.rpc.simulateTransaction(await buildTx(h, holder.publicKey(), op));
      if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error);
      expect(sim.result?.auth).toEqual([]);
      return scValToNative(sim.result!.retval);
    };
    expect(await read(contract.call('balance', xdr.ScVal.scvAddress(xdr.ScAddress.scAddressTypeAccount(holder.xdrAccountId()))))).toBe(42n * USDC);
    expect(await read(contract.call('decimals'))).toBe(7);
    expect(await read(contract.call('name'))).toBe(`USDC:${LOCALNET_USDC_ISSUER}`);
    expect(await read(contract.call('symbol'))).toBe('USDC');
  });

  it('simulation emits the SAC transfer contract event: [transfer, from, to, asset] with i128 data', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const payee = fundedAccount(h.localnet);
    const sim = await h.rpc.simulateTransaction(await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), 3n)));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error);
    const contractEvents = sim.events.filter((e) => e.event().type().name === 'contract');
    expect(contractEvents).toHaveLength(1);
    const body = contractEvents[0]!.event().body().v0();
    expect(body.topics().map((t) => scValToNative(t))).toEqual(['transfer', payer.publicKey(), payee.publicKey(), `USDC:${LOCALNET_USDC_ISSUER}`]);
    expect(scValToNative(body.data())).toBe(3n);
    expect(StrKey.encodeContract(contractEvents[0]!.event().contractId()! as unknown as Buffer)).toBe(LOCALNET_USDC_CONTRACT);
  });

  it('a transfer to an account without a USDC trustline fails, as on the network', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const noTrust = Keypair.random();
    h.localnet.fundXlm(noTrust.publicKey());
    const sim = await h.rpc.simulateTransaction(await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), noTrust.publicKey(), 1n)));
    expect(rpc.Api.isSimulationError(sim) && sim.error).toContain('trustline_missing');
  });

  it('failNextSend answers the next N sends without queueing them', async () => {
    const payer = fundedAccount(h.localnet, 5n * USDC);
    const payee = fundedAccount(h.localnet);
    const tx = await h.rpc.prepareTransaction(await buildTx(h, payer.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), 1n)));
    tx.sign(payer);
    h.localnet.faults.failNextSend('TRY_AGAIN_LATER', 2);
    expect((await h.rpc.sendTransaction(tx)).status).toBe('TRY_AGAIN_LATER');
    expect((await h.rpc.sendTransaction(tx)).status).toBe('TRY_AGAIN_LATER');
    h.localnet.faults.failNextSend('ERROR');
    const err = await h.rpc.sendTransaction(tx);
    expect(err.status).toBe('ERROR');
    expect(err.errorResult?.result().switch().name).toBe('txInternalError');
    expect((await h.localnet.closeLedger()).applied).toBe(0);
    expect((await h.rpc.sendTransaction(tx)).status).toBe('PENDING');
    expect((await h.localnet.closeLedger()).applied).toBe(1);
  });

  it('ledgers closing many times a second keep wall-clock close times, so clock-bounded transactions still land', async () => {
    // 200 ledgers in well under a second: close times must not run ahead of the clock (they used to
    // advance a second per ledger, and every transaction bounded to now + 60 s was then dropped).
    for (let i = 0; i < 200; i++) await h.localnet.closeLedger();
    const latest = await h.rpc.getLatestLedger();
    const closeTime = Number((await h.rpc.getTransaction('00'.repeat(32))).latestLedgerCloseTime);
    expect(latest.sequence).toBeGreaterThan(200);
    expect(closeTime).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));

    const payer = fundedAccount(h.localnet, 10n * USDC);
    const payee = fundedAccount(h.localnet);
    const channel = fundedAccount(h.localnet);
    const entry = await signedPayerAuth(h, payer, payee.publicKey(), USDC, { channel: channel.publicKey() });
    const tx = await prepareAndSign(h, channel, transferOp(payer.publicKey(), payee.publicKey(), USDC, [entry])); // valid for 60 s
    expect((await h.rpc.sendTransaction(tx)).status).toBe('PENDING');
    await h.localnet.closeLedger();
    expect((await h.rpc.getTransaction(tx.hash().toString('hex'))).status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(USDC);
  });

  it('closes ledgers on its clock once started, and stops', async () => {
    const timed = createLocalnet({ ledgerMs: 20 });
    const start = timed.latestLedger();
    timed.start();
    await new Promise((r) => setTimeout(r, 200));
    await timed.stop();
    const stopped = timed.latestLedger();
    expect(stopped).toBeGreaterThan(start + 2);
    await new Promise((r) => setTimeout(r, 60));
    expect(timed.latestLedger()).toBe(stopped);

    const manual = createLocalnet({ ledgerMs: 'manual' });
    manual.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(manual.latestLedger()).toBe(start);
  });
});

describe('localnet configuration', () => {
  it('reads defaults and names a bad variable', () => {
    expect(loadLocalnetEnv({})).toMatchObject({ LOCALNET_PORT: 8000, LOCALNET_LEDGER_MS: 5000, LOCALNET_TLS_PORT: 8443 });
    expect(loadLocalnetEnv({ LOCALNET_LEDGER_MS: 'manual', LOCALNET_STATE: '/tmp/x.json' })).toMatchObject({ LOCALNET_LEDGER_MS: 'manual', LOCALNET_STATE: '/tmp/x.json' });
    expect(() => loadLocalnetEnv({ LOCALNET_PORT: '99999' })).toThrow(/LOCALNET_PORT/);
    expect(() => loadLocalnetEnv({ LOCALNET_LEDGER_MS: 'fast' })).toThrow(/LOCALNET_LEDGER_MS/);
    expect(() => loadLocalnetEnv({ LOCALNET_TLS_CERT: '/cert.pem' })).toThrow(/LOCALNET_TLS_CERT/);
  });
});
