import { afterEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../../src/stellar/rpc.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

// Settlements waiting on a ledger are looked up with one JSON-RPC batch when it closes, against the
// real local ledger over HTTP; the wire is only watched, or made to misbehave in front of the ledger.
const BODY = { nameOnCard: 'Bea Batch', email: 'bea@example.com' };
const ROUTE = '/cards/create/tier/25';

type RpcRequest = { id: number; method: string };

/** A wire tap in front of the ledger: what each HTTP request carried, and a hook to change batch answers. */
function tap(changeBatchAnswer: (text: string, batch: number) => string | Response = (text) => text) {
  const seen = { batches: [] as string[][], singles: [] as string[], sendAnswers: 0 };
  const wrap =
    (inner: FetchLike): FetchLike =>
    async (url, init) => {
      const request = JSON.parse(String(init.body)) as RpcRequest | RpcRequest[];
      if (Array.isArray(request)) seen.batches.push(request.map((r) => r.method));
      else seen.singles.push(request.method);
      const response = await inner(url, init);
      if (!Array.isArray(request)) {
        if (request.method === 'sendTransaction') seen.sendAnswers += 1;
        return response;
      }
      const changed = changeBatchAnswer(await response.text(), seen.batches.length);
      return typeof changed === 'string' ? new Response(changed, { status: response.status, headers: response.headers }) : changed;
    };
  return {
    seen,
    wrap,
    /** HTTP requests that asked getTransaction, and how many lookups they carried. */
    lookups() {
      const batches = seen.batches.filter((methods) => methods.includes('getTransaction'));
      const singles = seen.singles.filter((method) => method === 'getTransaction');
      return { requests: batches.length + singles.length, batches: batches.length, singles: singles.length, items: batches.flat().length + singles.length };
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

type Lookups = ReturnType<ReturnType<typeof tap>['lookups']>;

/**
 * `n` agents pay at once; the ledger closes once all n settlements were sent, so all of them wait on
 * the same ledger. Every one must get its card. Returns the getTransaction traffic of the settlements.
 */
async function payTogether(h: PaidHarness, wire: ReturnType<typeof tap>, n: number): Promise<Lookups> {
  const before = wire.lookups();
  const sentBefore = wire.seen.sendAnswers;
  const paying = Array.from({ length: n }, () => h.pay(h.agent(100n * USDC), ROUTE, BODY));
  await until(() => wire.seen.sendAnswers === sentBefore + n, `${n} settlements sent`);
  await h.localnet.closeLedger();
  for (const { response } of await Promise.all(paying)) {
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
  }
  const after = wire.lookups();
  const payments = await h.db.selectFrom('payments').select(['status', 'card_id']).execute();
  expect(payments.every((p) => p.status === 'fulfilled' && p.card_id !== null)).toBe(true);
  return { requests: after.requests - before.requests, batches: after.batches - before.batches, singles: after.singles - before.singles, items: after.items - before.items };
}

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('settlement lookups are batched per ledger', () => {
  it('twelve settlements landing in one ledger are looked up with one HTTP request, each exactly once', async () => {
    const wire = tap();
    h = await makePaidHarness({ ledgerMs: 'manual', env: { CHANNEL_COUNT: '12' }, rpcFetch: wire.wrap });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const counted = await payTogether(h, wire, 12);
    expect(counted.items).toBe(12);
    // One batch; a settlement whose send answer was read just after the ledger closed may be asked alone.
    expect(counted.requests).toBeLessThanOrEqual(2);
    expect(counted.batches).toBe(1);
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(12);
    await expectNothingLost(h, treasury);
  });

  it.each<[string, () => Response]>([
    ['answers a batch with one Invalid Request error', () => Response.json({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'batches are not supported' } })],
    ['answers a batch with HTTP 400', () => new Response('bad request', { status: 400 })],
  ])('an RPC that %s: settlements go through single calls, and batches are not tried again on the next ledger', async (_label, refusal) => {
    const wire = tap(() => refusal());
    h = await makePaidHarness({ ledgerMs: 'manual', env: { CHANNEL_COUNT: '6' }, rpcFetch: wire.wrap });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    expect(await payTogether(h, wire, 6)).toMatchObject({ batches: 1, singles: 6 });
    expect(await payTogether(h, wire, 6)).toMatchObject({ batches: 0, singles: 6 });
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(12);
    await expectNothingLost(h, treasury);
  });

  it('malformed batch answers fail only those lookups, which are asked again: no crash, no payment failed', async () => {
    // Each of the first batches is broken another way; then the ledger answers truthfully.
    const breakages: Array<(text: string) => string> = [
      () => '[{"jsonrpc": "2.0", ', // not JSON
      () => '[]', // no answers at all
      (text) => JSON.stringify((JSON.parse(text) as Array<{ id: number }>).map(({ id }) => ({ jsonrpc: '2.0', id, error: { code: -32603, message: 'internal error' } }))),
      (text) => {
        // Ids shifted by one: each answer (a SUCCESS naming its txHash) claims to be about the next transaction.
        const answers = JSON.parse(text) as Array<{ id: number }>;
        return JSON.stringify(answers.map((answer, i) => ({ ...answer, id: answers[(i + 1) % answers.length]!.id })));
      },
      (text) => JSON.stringify((JSON.parse(text) as Array<{ id: number }>).map((answer) => ({ ...answer, id: answer.id + 1_000_000 }))), // ids never sent
    ];
    const wire = tap((text, batch) => breakages[batch - 1]?.(text) ?? text);
    h = await makePaidHarness({ ledgerMs: 'manual', env: { CHANNEL_COUNT: '4' }, rpcFetch: wire.wrap });
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const counted = await payTogether(h, wire, 4);
    expect(counted.batches).toBeGreaterThan(breakages.length);
    expect(h.logs.filter((line) => line.includes('getTransaction failed; polling on')).length).toBeGreaterThanOrEqual(breakages.length);
    expect(await h.db.selectFrom('cards').select('id').execute()).toHaveLength(4);
    await expectNothingLost(h, treasury);
  });
});
