import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address, Keypair, authorizeEntry, nativeToScVal, rpc, scValToNative, xdr } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT } from '../../src/localnet/index.js';
import { buildTx, fundedAccount, invoke, simulateRead, startLocalnet, usdcOp, USDC, type Harness } from './helpers.js';

// The SEP-41 allowance functions of the USDC SAC, checked against the host's rules
// (soroban-env-host builtin_contracts/stellar_asset_contract: contract.rs, allowance.rs, event.rs).

const addr = (k: Keypair | string) => nativeToScVal(typeof k === 'string' ? k : k.publicKey(), { type: 'address' });
const i128 = (v: bigint) => nativeToScVal(v, { type: 'i128' });
const u32 = (v: number) => xdr.ScVal.scvU32(v);
const approveOp = (from: Keypair, spender: Keypair, amount: bigint, liveUntil: number) => usdcOp('approve', [addr(from), addr(spender), i128(amount), u32(liveUntil)]);
const transferFromOp = (spender: Keypair, from: Keypair, to: Keypair, amount: bigint) => usdcOp('transfer_from', [addr(spender), addr(from), addr(to), i128(amount)]);
// Transactions apply in the ledger after the latest one: the host's "current ledger sequence".
const nextLedger = (h: Harness) => h.localnet.latestLedger() + 1;
const MAX_ENTRY_TTL_LEDGERS = 3_110_400;

describe('USDC SAC allowances on the local ledger (SEP-41)', () => {
  let h: Harness;
  let owner: Keypair;
  let spender: Keypair;
  let merchant: Keypair;
  let sponsor: Keypair;

  beforeEach(async () => {
    h = await startLocalnet();
    owner = fundedAccount(h.localnet, 100n * USDC);
    spender = fundedAccount(h.localnet);
    merchant = fundedAccount(h.localnet);
    sponsor = fundedAccount(h.localnet);
  });
  afterEach(async () => {
    await h.close();
  });

  const allowance = async (from: Keypair, to: Keypair) =>
    scValToNative(await simulateRead(h, sponsor.publicKey(), usdcOp('allowance', [addr(from), addr(to)]))) as bigint;

  async function approve(amount: bigint, liveUntil: number) {
    const r = await invoke(h, sponsor, approveOp(owner, spender, amount, liveUntil), [owner]);
    if (!r.ok) throw new Error(r.error);
    expect(r.status).toBe('SUCCESS');
    return r;
  }

  it('approve (signed by from, fee paid by another account) sets the allowance and emits the approve event', async () => {
    const liveUntil = nextLedger(h) + 100;
    expect(await allowance(owner, spender)).toBe(0n);
    const r = await approve(30n * USDC, liveUntil);
    expect(await allowance(owner, spender)).toBe(30n * USDC);
    expect(r.events).toHaveLength(1);
    const body = r.events[0]!.body().v0();
    expect(body.topics().map((t) => scValToNative(t))).toEqual(['approve', owner.publicKey(), spender.publicKey(), h.localnet.network.usdcAssetString]);
    expect(body.topics()[0]!.switch().name).toBe('scvSymbol');
    expect(body.topics()[3]!.switch().name).toBe('scvString');
    expect(scValToNative(body.data())).toEqual([30n * USDC, liveUntil]);
    expect(body.data().vec()![1]!.switch().name).toBe('scvU32');
    expect(Address.fromScAddress(xdr.ScAddress.scAddressTypeContract(r.events[0]!.contractId()! as never)).toString()).toBe(LOCALNET_USDC_CONTRACT);
    // Nothing moved: an allowance is not a transfer.
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
  });

  it('the allowance is a temporary Allowance{from, spender} entry readable with getLedgerEntries', async () => {
    const liveUntil = nextLedger(h) + 100;
    await approve(7n * USDC, liveUntil);
    const key = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: new Address(LOCALNET_USDC_CONTRACT).toScAddress(),
        key: xdr.ScVal.scvVec([
          xdr.ScVal.scvSymbol('Allowance'),
          xdr.ScVal.scvMap([
            new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('from'), val: addr(owner) }),
            new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('spender'), val: addr(spender) }),
          ]),
        ]),
        durability: xdr.ContractDataDurability.temporary(),
      }),
    );
    const got = await h.rpc.getLedgerEntries(key);
    expect(got.entries).toHaveLength(1);
    const entry = got.entries[0]!;
    expect(scValToNative(entry.val.contractData().val())).toEqual({ amount: 7n * USDC, live_until_ledger: liveUntil });
    expect(entry.liveUntilLedgerSeq).toBe(liveUntil);
  });

  it('approve needs the authorization of from: simulation records an entry for from, and a spender-signed entry is refused', async () => {
    const op = approveOp(owner, spender, 5n * USDC, nextLedger(h) + 50);
    const sim = await h.rpc.simulateTransaction(await buildTx(h, sponsor.publicKey(), op));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error);
    const [entry] = sim.result!.auth;
    expect(Address.fromScAddress(entry!.credentials().address().address()).toString()).toBe(owner.publicKey());
    // The spender signs an entry for itself over the same invocation: from's authorization is still missing.
    const forged = xdr.SorobanAuthorizationEntry.fromXDR(entry!.toXDR());
    forged.credentials().address().address(new Address(spender.publicKey()).toScAddress());
    const signed = await authorizeEntry(forged, spender, h.localnet.latestLedger() + 10, LOCALNET_PASSPHRASE);
    const refused = await h.rpc.simulateTransaction(await buildTx(h, sponsor.publicKey(), usdcOp('approve', op.body().invokeHostFunctionOp().hostFunction().invokeContract().args(), [signed])));
    expect(rpc.Api.isSimulationError(refused) && refused.error).toMatch(/Error\(Auth, InvalidAction\) auth_not_authorized/);
    expect(await allowance(owner, spender)).toBe(0n);
  });

  it('from may approve with source-account credentials when it is the source', async () => {
    const r = await invoke(h, owner, approveOp(owner, spender, 3n * USDC, nextLedger(h) + 10));
    expect(r.ok && r.status).toBe('SUCCESS');
    expect(await allowance(owner, spender)).toBe(3n * USDC);
  });

  describe.each([
    { name: 'a positive amount with live_until before the current ledger', amount: 1n, liveUntil: (seq: number) => seq - 1, error: /Error\(Contract, #9\) allowance_live_until_past/ },
    { name: 'live_until beyond the maximum entry TTL', amount: 1n, liveUntil: (seq: number) => seq + MAX_ENTRY_TTL_LEDGERS, error: /Error\(Contract, #9\) allowance_live_until_too_far/ },
    { name: 'a zero amount with live_until beyond the maximum entry TTL', amount: 0n, liveUntil: (seq: number) => seq + MAX_ENTRY_TTL_LEDGERS, error: /Error\(Contract, #9\)/ },
    { name: 'a negative amount', amount: -1n, liveUntil: (seq: number) => seq + 10, error: /Error\(Contract, #8\) negative_amount/ },
  ])('approve refuses $name', ({ amount, liveUntil, error }) => {
    it('as the host does, and writes nothing', async () => {
      await h.localnet.closeLedger();
      const r = await invoke(h, sponsor, approveOp(owner, spender, amount, liveUntil(nextLedger(h))), [owner]);
      expect(r.ok ? 'succeeded' : r.error).toMatch(error);
      expect(await allowance(owner, spender)).toBe(0n);
    });
  });

  it('live_until may be exactly the current ledger or exactly the maximum', async () => {
    expect((await invoke(h, sponsor, approveOp(owner, spender, 1n, nextLedger(h)), [owner])).ok).toBe(true);
    expect((await invoke(h, sponsor, approveOp(owner, spender, 1n, nextLedger(h) + MAX_ENTRY_TTL_LEDGERS - 1), [owner])).ok).toBe(true);
  });

  it('a zero amount is allowed with a live_until in the past: it clears the allowance (and emits the event)', async () => {
    await approve(10n * USDC, nextLedger(h) + 100);
    await h.localnet.closeLedger();
    const r = await approve(0n, 1);
    expect(await allowance(owner, spender)).toBe(0n);
    expect(scValToNative(r.events[0]!.body().v0().data())).toEqual([0n, 1]);
    const spent = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 1n), [spender]);
    expect(spent.ok ? 'succeeded' : spent.error).toMatch(/Error\(Contract, #9\) allowance_insufficient/);
  });

  it('an allowance reads 0 once the ledger passes live_until, and transfer_from is refused', async () => {
    const liveUntil = nextLedger(h) + 2;
    await approve(10n * USDC, liveUntil); // applies in ledger liveUntil - 2
    await h.localnet.closeLedger(); // liveUntil - 1
    // The next transaction applies in ledger liveUntil: still usable.
    expect(await allowance(owner, spender)).toBe(10n * USDC);
    await h.localnet.closeLedger(); // liveUntil
    expect(await allowance(owner, spender)).toBe(0n);
    const r = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 1n), [spender]);
    expect(r.ok ? 'succeeded' : r.error).toMatch(/Error\(Contract, #9\) allowance_insufficient/);
  });

  it('transfer_from (signed by the spender only) moves funds, lowers the allowance and emits transfer', async () => {
    await approve(30n * USDC, nextLedger(h) + 100);
    const r = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 12n * USDC), [spender]);
    if (!r.ok) throw new Error(r.error);
    expect(r.status).toBe('SUCCESS');
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(88n * USDC);
    expect(h.localnet.usdcBalance(merchant.publicKey())).toBe(12n * USDC);
    expect(await allowance(owner, spender)).toBe(18n * USDC);
    expect(r.events).toHaveLength(1);
    const body = r.events[0]!.body().v0();
    expect(body.topics().map((t) => scValToNative(t))).toEqual(['transfer', owner.publicKey(), merchant.publicKey(), h.localnet.network.usdcAssetString]);
    expect(scValToNative(body.data())).toBe(12n * USDC);
  });

  it('transfer_from records an authorization entry for the spender, not for from', async () => {
    await approve(30n * USDC, nextLedger(h) + 100);
    const sim = await h.rpc.simulateTransaction(await buildTx(h, sponsor.publicKey(), transferFromOp(spender, owner, merchant, USDC)));
    if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(sim.error);
    expect(sim.result!.auth.map((e) => Address.fromScAddress(e.credentials().address().address()).toString())).toEqual([spender.publicKey()]);
    // from signing the transfer_from instead of the spender is not enough.
    const entry = xdr.SorobanAuthorizationEntry.fromXDR(sim.result!.auth[0]!.toXDR());
    entry.credentials().address().address(new Address(owner.publicKey()).toScAddress());
    const signed = await authorizeEntry(entry, owner, h.localnet.latestLedger() + 10, LOCALNET_PASSPHRASE);
    const args = transferFromOp(spender, owner, merchant, USDC).body().invokeHostFunctionOp().hostFunction().invokeContract().args();
    const refused = await h.rpc.simulateTransaction(await buildTx(h, sponsor.publicKey(), usdcOp('transfer_from', args, [signed])));
    expect(rpc.Api.isSimulationError(refused) && refused.error).toMatch(/auth_not_authorized/);
  });

  it('transfer_from over the allowance is refused and moves nothing; exactly the allowance succeeds and leaves 0', async () => {
    await approve(5n * USDC, nextLedger(h) + 100);
    const over = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 5n * USDC + 1n), [spender]);
    expect(over.ok ? 'succeeded' : over.error).toMatch(/Error\(Contract, #9\) allowance_insufficient/);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
    const exact = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 5n * USDC), [spender]);
    expect(exact.ok && exact.status).toBe('SUCCESS');
    expect(await allowance(owner, spender)).toBe(0n);
  });

  it('transfer_from within the allowance but over the balance is a balance error (#10)', async () => {
    await approve(500n * USDC, nextLedger(h) + 100);
    const r = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, 101n * USDC), [spender]);
    expect(r.ok ? 'succeeded' : r.error).toMatch(/Error\(Contract, #10\) insufficient_balance/);
    expect(await allowance(owner, spender)).toBe(500n * USDC);
  });

  it('a negative transfer_from is refused (#8); an allowance is per spender', async () => {
    await approve(5n * USDC, nextLedger(h) + 100);
    const negative = await invoke(h, sponsor, transferFromOp(spender, owner, merchant, -1n), [spender]);
    expect(negative.ok ? 'succeeded' : negative.error).toMatch(/Error\(Contract, #8\)/);
    const stranger = fundedAccount(h.localnet);
    const other = await invoke(h, sponsor, transferFromOp(stranger, owner, merchant, 1n), [stranger]);
    expect(other.ok ? 'succeeded' : other.error).toMatch(/allowance_insufficient/);
  });

  it('a new approve replaces the amount and live_until', async () => {
    await approve(5n * USDC, nextLedger(h) + 100);
    await approve(9n * USDC, nextLedger(h) + 3);
    expect(await allowance(owner, spender)).toBe(9n * USDC);
    for (let i = 0; i < 3; i++) await h.localnet.closeLedger();
    expect(await allowance(owner, spender)).toBe(0n);
  });

  it('burn_from is not implemented: function_not_supported', async () => {
    await approve(5n * USDC, nextLedger(h) + 100);
    const r = await invoke(h, sponsor, usdcOp('burn_from', [addr(spender), addr(owner), i128(1n)]), [spender]);
    expect(r.ok ? 'succeeded' : r.error).toMatch(/function_not_supported/);
  });
});

describe('allowances in the state file', () => {
  it('a restarted ledger keeps an allowance, its live_until and its TTL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localnet-allowance-'));
    try {
      const statePath = join(dir, 'state.json');
      const first = await startLocalnet({ statePath });
      const owner = fundedAccount(first.localnet, 10n * USDC);
      const spender = fundedAccount(first.localnet);
      const liveUntil = first.localnet.latestLedger() + 50;
      const r = await invoke(first, owner, approveOp(owner, spender, 4n * USDC, liveUntil));
      expect(r.ok).toBe(true);
      await first.close();
      const second = await startLocalnet({ statePath });
      try {
        const read = await simulateRead(second, owner.publicKey(), usdcOp('allowance', [addr(owner), addr(spender)]));
        expect(scValToNative(read)).toBe(4n * USDC);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
