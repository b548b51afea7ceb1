import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { signApproveEntry } from '../../src/client/mandate-approval.js';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { ManualClock } from '../../src/clock.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { MANDATE_ID_HEADER, mandateApprovalSchema, mandateSchema } from '../../src/protocol/mandates.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CARD = { nameOnCard: 'Pat Period', email: 'pat@example.com' };
const DAY = 86_400_000;

/** Requests signed at the app's (manual) time, over real HTTP. */
function signedFetch(harness: PaidHarness, clock: ManualClock, wallet: Keypair, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const auth = walletAuthHeadersV2(wallet, { method, url: path, body: text ?? null }, { timestamp: Math.floor(clock.nowMs() / 1000) });
  return fetch(harness.baseUrl + path, { method, headers: { ...(text ? { 'content-type': 'application/json' } : {}), ...auth, ...headers }, ...(text ? { body: text } : {}) });
}

describe('mandate rules by calendar period, with a manual clock', () => {
  it('weekly and monthly rules: refused within the period, allowed when the period turns; expired at the end', async () => {
    const clock = new ManualClock(Date.parse('2026-03-30T12:00:00Z')); // a Monday
    h = await makePaidHarness({ clock });
    const harness = h;
    const agent = h.agent(0n);
    const owner = h.agent(500n * USDC);
    const created = await signedFetch(h, clock, agent, 'POST', '/mandates', {
      ownerAddress: owner.publicKey(),
      rules: [{ amount: '25', period: 'weekly' }, { amount: '40', period: 'monthly' }],
      expiresAt: new Date(clock.nowMs() + 30 * DAY).toISOString(),
    });
    expect(created.status).toBe(201);
    const mandate = mandateSchema.parse(await created.json());
    expect(mandate.allowance).toBe('80.00'); // min(5 weeks × 25, 2 months × 40)

    const approval = mandateApprovalSchema.parse(await (await fetch(`${h.baseUrl}/mandates/${mandate.id}/approval`)).json());
    const authEntry = await signApproveEntry(
      { contract: approval.contract, from: owner.publicKey(), spender: approval.spender, amountAtomic: BigInt(approval.amountAtomic), liveUntilLedger: approval.liveUntilLedger },
      owner,
      approval.latestLedger + 60,
      LOCALNET_PASSPHRASE,
    );
    const approved = await fetch(`${h.baseUrl}/mandates/${mandate.id}/approval`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ authEntry }) });
    expect(approved.status).toBe(200);

    // A card only costs $10.00.
    const buy = () => signedFetch(harness, clock, agent, 'POST', '/cards/create/tier/0', CARD, { [MANDATE_ID_HEADER]: mandate.id });
    const expectBought = async () => {
      const res = await buy();
      expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    };
    const expectRefused = async (period: string, remaining: string) => {
      const res = await buy();
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'MANDATE_RULE_EXCEEDED', period, remaining });
    };

    await expectBought(); // Mon 30 Mar: week 10, March 10
    await expectBought(); // week 20, March 20
    await expectRefused('weekly', '5.00');
    clock.set(Date.parse('2026-04-01T09:00:00Z')); // Wednesday: a new month, the same week
    await expectRefused('weekly', '5.00');
    clock.set(Date.parse('2026-04-06T00:00:00Z')); // Monday: a new week
    await expectBought(); // week 10, April 10
    await expectBought(); // week 20, April 20
    clock.set(Date.parse('2026-04-13T08:00:00Z'));
    await expectBought(); // week 10, April 30
    await expectBought(); // week 20, April 40
    clock.set(Date.parse('2026-04-20T08:00:00Z')); // a new week, but April is spent
    await expectRefused('monthly', '0.00');

    const seen = mandateSchema.parse(await (await signedFetch(h, clock, owner, 'GET', `/mandates/${mandate.id}`)).json());
    expect(seen.rules.map((r) => [r.period, r.spent, r.periodStart])).toEqual([
      ['weekly', '0.00', '2026-04-20T00:00:00.000Z'],
      ['monthly', '40.00', '2026-04-01T00:00:00.000Z'],
    ]);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - 60n * USDC);

    clock.set(Date.parse('2026-04-29T12:00:01Z')); // past expiresAt
    const expired = await buy();
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ code: 'MANDATE_NOT_ACTIVE', phase: 'expired' });
    const after = mandateSchema.parse(await (await signedFetch(h, clock, agent, 'GET', `/mandates/${mandate.id}`)).json());
    expect(after.phase).toBe('expired');
  });
});
