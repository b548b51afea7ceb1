import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

describe('settlement fee-bumped by a fee payer (FEE_PAYER_SECRET)', () => {
  let h: PaidHarness;
  const feePayer = Keypair.random();
  beforeAll(async () => {
    h = await makePaidHarness({ env: { FEE_PAYER_SECRET: feePayer.secret(), CHANNEL_COUNT: '1' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('settles with the fee payer paying the fee, the channel spending only its sequence number', async () => {
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const channel = h.keys.channels[0]!.publicKey();
    const before = { channel: h.localnet.xlmBalance(channel), feePayer: h.localnet.xlmBalance(feePayer.publicKey()) };
    const agent = h.agent(100n * USDC);
    const { response } = await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'Fee Bump', email: 'fb@example.com' });
    expect(response.status, JSON.stringify(await bodyOf(response.clone()))).toBe(201);
    expect(h.localnet.xlmBalance(channel)).toBe(before.channel);
    expect(h.localnet.xlmBalance(feePayer.publicKey())).toBeLessThan(before.feePayer);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - 10n * USDC);
    await expectNothingLost(h, treasury);
  });

  it('refuses payments that name the fee payer', async () => {
    const { response } = await h.pay(h.agent(100n * USDC), '/cards/create/tier/0', { nameOnCard: 'A', email: 'a@example.com' }, {
      overrides: { txSource: feePayer.publicKey() },
    });
    expect(response.status).toBe(402);
    expect((await bodyOf(response)).reason).toBe('facilitator_is_source');
  });
});
