import { Address, xdr } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCALNET_USDC_CONTRACT } from '../../src/localnet/index.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { provesTransfer, transferTopics } from '../../src/stellar/transfer-evidence.js';
import { fundedAccount, prepareAndSign, signedPayerAuth, startLocalnet, transferOp, USDC, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const sym = (s: string) => xdr.ScVal.scvSymbol(s).toXDR('base64');
const addr = (a: string) => new Address(a).toScVal().toXDR('base64');

async function rawCall(harness: Harness, params: unknown): Promise<{ result?: any; error?: { code: number; message: string } }> {
  const response = await fetch(harness.server.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getEvents', params }),
  });
  return (await response.json()) as { result?: any; error?: { code: number; message: string } };
}

/** Three payer-signed transfers, each in a ledger of its own. */
async function scene(harness: Harness) {
  const a = fundedAccount(harness.localnet, 100n * USDC);
  const b = fundedAccount(harness.localnet, 100n * USDC);
  const c = fundedAccount(harness.localnet);
  const channel = fundedAccount(harness.localnet);
  const transfer = async (from: typeof a, to: string, amount: bigint) => {
    const auth = await signedPayerAuth(harness, from, to, amount, { channel: channel.publicKey() });
    const tx = await prepareAndSign(harness, channel, transferOp(from.publicKey(), to, amount, [auth]));
    const sent = await harness.rpc.sendTransaction(tx);
    await harness.localnet.closeLedger();
    return { hash: sent.hash, auth };
  };
  const first = await transfer(a, b.publicKey(), 5n * USDC);
  const second = await transfer(b, a.publicKey(), 2n * USDC);
  const third = await transfer(a, c.publicKey(), 1n * USDC);
  return { a, b, c, first, second, third, startLedger: 2 };
}

describe('getEvents on the local ledger (soroban-rpc semantics)', () => {
  it('lists the contract events of successful transactions; stellar-sdk reads the answer', async () => {
    h = await startLocalnet();
    const s = await scene(h);
    const page = await h.rpc.getEvents({ startLedger: s.startLedger, filters: [{ type: 'contract', contractIds: [LOCALNET_USDC_CONTRACT] }] });
    expect(page.events.map((e) => e.txHash)).toEqual([s.first.hash, s.second.hash, s.third.hash]);
    const [first] = page.events;
    expect(first?.contractId?.contractId()).toBe(LOCALNET_USDC_CONTRACT);
    expect(first?.topic[0]?.sym().toString()).toBe('transfer');
    expect(first?.id).toMatch(/^\d{19}-\d{10}$/);
    expect(page.latestLedger).toBe(h.localnet.latestLedger());
  });

  it('matches topics exactly, with * for one segment and a final ** for any number', async () => {
    h = await startLocalnet();
    const s = await scene(h);
    const rpc = new SorobanRpc(h.server.rpcUrl);
    const a = s.a.publicKey();
    const query = (topics: string[][]) => rpc.events({ startLedger: 2, filters: [{ type: 'contract', contractIds: [LOCALNET_USDC_CONTRACT], topics }] });
    const hashes = async (topics: string[][]) => (await query(topics)).events.map((e) => e.txHash);
    expect(await hashes([[sym('transfer'), addr(a), '**']])).toEqual([s.first.hash, s.third.hash]);
    expect(await hashes([[sym('transfer'), '*', addr(a), '*']])).toEqual([s.second.hash]);
    expect(await hashes([transferTopics(new Address(a).toScVal(), new Address(s.c.publicKey()).toScVal())])).toEqual([s.third.hash]);
    // Without ** the topic count must match: the transfer event has four topics.
    expect(await hashes([[sym('transfer'), addr(a), '*']])).toEqual([]);
    expect(await hashes([[sym('mint'), '**']])).toEqual([]);
    expect((await rpc.events({ startLedger: 2, filters: [{ type: 'contract', contractIds: ['CAS3J7GYLGXMF6TDJBBYYSE3HQ6BBSMLNUQ34T6TZMYMW2EVH34XOWMA'] }] })).events).toEqual([]);
    const system = await rawCall(h, { startLedger: 2, filters: [{ type: 'system' }] });
    expect(system.result.events).toEqual([]);
  });

  it('pages by cursor without repeating or skipping an event, and honours endLedger (exclusive)', async () => {
    h = await startLocalnet();
    const s = await scene(h);
    const rpc = new SorobanRpc(h.server.rpcUrl);
    const filters = [{ contractIds: [LOCALNET_USDC_CONTRACT] }];
    const seen: string[] = [];
    let page = await rpc.events({ startLedger: 2, filters, limit: 1 });
    for (let i = 0; i < 5 && page.events.length > 0; i++) {
      seen.push(...page.events.map((e) => e.txHash));
      page = await rpc.events({ cursor: page.cursor, filters, limit: 1 });
    }
    expect(seen).toEqual([s.first.hash, s.second.hash, s.third.hash]);
    const firstLedger = (await rpc.events({ startLedger: 2, filters, limit: 1 })).events[0]!.ledger;
    const bounded = await rpc.events({ startLedger: 2, endLedger: firstLedger + 1, filters });
    expect(bounded.events.map((e) => e.txHash)).toEqual([s.first.hash]);
  });

  it('refuses what the real server refuses, with its error codes', async () => {
    h = await startLocalnet();
    await scene(h);
    const latest = h.localnet.latestLedger();
    expect((await rawCall(h, { startLedger: latest + 1 })).error).toMatchObject({ code: -32600, message: expect.stringContaining('startLedger must be between') });
    expect((await rawCall(h, { startLedger: 1 })).error?.code).toBe(-32600);
    expect((await rawCall(h, { startLedger: 2, pagination: { cursor: '0000000012884905984-0000000000' } })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, pagination: { limit: 10_001 } })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, filters: Array.from({ length: 6 }, () => ({})) })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, filters: [{ topics: [['**', sym('transfer')]] }] })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, filters: [{ topics: [['not base64 scval']] }] })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, filters: [{ contractIds: ['GABC'] }] })).error?.code).toBe(-32602);
    expect((await rawCall(h, { startLedger: 2, pagination: { cursor: 'garbage' } })).error?.code).toBe(-32602);
  });

  it('forgets events with their transactions after the history window; an older startLedger is refused', async () => {
    let nowMs = Date.now();
    h = await startLocalnet({ startedAtMs: () => nowMs, historySeconds: 60 });
    const s = await scene(h);
    nowMs += 3_600_000;
    await h.localnet.closeLedger();
    const rpc = new SorobanRpc(h.server.rpcUrl);
    const history = await rpc.history();
    expect(history.oldestLedger).toBeGreaterThan(s.startLedger);
    await expect(rpc.events({ startLedger: s.startLedger, filters: [] })).rejects.toThrow(/oldest ledger/);
    expect((await rpc.events({ startLedger: history.oldestLedger, filters: [] })).events).toEqual([]);
  });
});

describe('what proves a transfer', () => {
  it('the transaction that carries the signed entry and emits the transfer; not one with another entry, and not a failed one', async () => {
    h = await startLocalnet();
    const s = await scene(h);
    const rpc = new SorobanRpc(h.server.rpcUrl);
    const detail = await rpc.transactionDetail(s.first.hash);
    const expected = { asset: LOCALNET_USDC_CONTRACT, from: s.a.publicKey(), to: s.b.publicKey(), amount: 5n * USDC, authEntry: s.first.auth.toXDR() };
    expect(provesTransfer(detail, expected)).toBe(true);
    // Same parties and amount, but another signed entry (another nonce): not this payment.
    expect(provesTransfer(detail, { ...expected, authEntry: s.third.auth.toXDR() })).toBe(false);
    expect(provesTransfer(detail, { ...expected, amount: 5n * USDC + 1n })).toBe(false);
    expect(provesTransfer(detail, { ...expected, to: s.c.publicKey() })).toBe(false);
    expect(provesTransfer(await rpc.transactionDetail('00'.repeat(32)), expected)).toBe(false);
  });
});
