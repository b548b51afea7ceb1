import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import type { CardIssuer } from '../../src/cards/issuer.js';
import { createMemoryLogger } from '../../src/logger.js';
import { startPaymentRuntime } from '../../src/payments/wiring.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CARD = { nameOnCard: 'Rita Recovery', email: 'rita@example.com' };
const PRICE_ATOMIC = 20_3500000n; // create tier 10
const hang = () => new Promise<never>(() => {});

async function until(check: () => Promise<boolean>, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function activeMandate(harness: PaidHarness) {
  const agent = harness.agent(0n);
  const owner = harness.agent(500n * USDC);
  const client = (k: Keypair) => new Card402Client({ baseUrl: harness.baseUrl, rpcUrl: harness.ledgerServer.rpcUrl, signer: k });
  const requested = await client(agent).requestMandate({ ownerAddress: owner.publicKey(), rules: [{ amount: 100, period: 'monthly' }] });
  await client(owner).approveMandate(requested.id);
  return { agent, owner, agentClient: client(agent), ownerClient: client(owner), id: requested.id };
}

/** The issuer of the first process: it dies (hangs forever) when asked for a card. */
function dyingIssuer(onIssue: () => void) {
  return (sandbox: import('../../src/cards/sandbox-issuer.js').SandboxIssuer): CardIssuer => ({
    checkCapacity: (r) => sandbox.checkCapacity(r),
    issueCard: async () => {
      onIssue();
      return hang();
    },
    fundCard: (r) => sandbox.fundCard(r),
  });
}

describe('mandate purchases survive crashes like any payment', () => {
  it('a crash between transfer_from and issuing: the next start issues the card to the agent, once, and the owner paid once', async () => {
    let issuing = false;
    h = await makePaidHarness({ issuer: dyingIssuer(() => (issuing = true)) });
    const harness = h;
    const { agent, owner, agentClient, ownerClient, id } = await activeMandate(h);
    void agentClient.createCardWithMandate(id, { amount: 10, ...CARD }).catch(() => undefined);
    await until(async () => issuing, 'transfer_from, then issuing');
    const crashed = await harness.db.selectFrom('payments').selectAll().executeTakeFirstOrThrow();
    expect(crashed).toMatchObject({ status: 'settling', card_id: null, mandate_id: id, payer: owner.publicKey(), holder: agent.publicKey() });
    expect((await harness.stack.rpc.transaction(crashed.settle_tx_hash!)).status).toBe('SUCCESS');
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC);

    await h.crash();
    const restarted = h.restart();
    const runtime = await startPaymentRuntime(restarted.service, h.config, createMemoryLogger());
    await runtime.stop();
    expect(runtime.recovered).toEqual({ fulfilled: 1 });
    const cards = await h.db.selectFrom('cards').selectAll().execute();
    expect(cards.map((c) => [c.agent_address, c.owner_address])).toEqual([[agent.publicKey(), owner.publicKey()]]);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC);
    const mandate = await ownerClient.getMandate(id);
    expect(mandate.rules[0]).toMatchObject({ spent: '20.35' });
  });

  it('a crash between transfer_from and issuing, and the card can never be issued: refunded to the owner', async () => {
    let issuing = false;
    h = await makePaidHarness({ env: { FULFIL_MAX_ATTEMPTS: '1' }, issuer: dyingIssuer(() => (issuing = true)) });
    const harness = h;
    const { agent, owner, ownerClient, agentClient, id } = await activeMandate(h);
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    void agentClient.createCardWithMandate(id, { amount: 10, ...CARD }).catch(() => undefined);
    await until(async () => issuing, 'transfer_from, then issuing');
    const broken: CardIssuer = {
      checkCapacity: (r) => harness.issuer.checkCapacity(r),
      issueCard: async () => {
        throw new Error('the provider refuses this card');
      },
      fundCard: (r) => harness.issuer.fundCard(r),
    };
    await h.crash();
    const restarted = h.restart({ issuer: broken });
    await until(async () => {
      await restarted.service.reconcile();
      return (await harness.db.selectFrom('payments').select('status').executeTakeFirstOrThrow()).status === 'refunded';
    }, 'the refund');
    const payment = await harness.db.selectFrom('payments').selectAll().executeTakeFirstOrThrow();
    expect((await harness.stack.rpc.transaction(payment.refund_tx_hash!)).status).toBe('SUCCESS');
    // The refund went to the owner, whose USDC it was; the agent had none and has none.
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(0n);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury);
    expect(await h.db.selectFrom('cards').selectAll().execute()).toEqual([]);
    // A refunded purchase no longer counts against the rules; the on-chain allowance it used stays used.
    const mandate = await ownerClient.getMandate(id);
    expect(mandate.rules[0]).toMatchObject({ spent: '0.00' });
    expect(BigInt(mandate.allowanceLeftAtomic!)).toBe(BigInt(mandate.allowanceAtomic) - PRICE_ATOMIC);
    expect(mandate.phase).toBe('active');
  });

  it('a crash before the transfer_from was sent: the next start sends the recorded envelope, then issues the card', async () => {
    let held = false;
    let armed = false;
    h = await makePaidHarness({
      rpcFetch: (inner) => async (url, init) => {
        const body = JSON.parse(String(init.body)) as { method: string; params?: { transaction?: string } };
        // The first process dies while sending its first mandate transfer (after the approve).
        if (body.method === 'sendTransaction' && armed && !held) {
          held = true;
          return hang();
        }
        return inner(url, init);
      },
    });
    const harness = h;
    const { owner, agentClient, id } = await activeMandate(h);
    armed = true;
    void agentClient.createCardWithMandate(id, { amount: 10, ...CARD }).catch(() => undefined);
    await until(async () => held, 'the send');
    const recorded = await harness.db.selectFrom('payments').selectAll().executeTakeFirstOrThrow();
    expect(recorded.status).toBe('settling');
    expect((await harness.stack.rpc.transaction(recorded.settle_tx_hash!)).status).toBe('NOT_FOUND');
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC);

    await h.crash();
    const restarted = h.restart({ rpcFetch: (url, init) => fetch(url, init) });
    await until(async () => {
      await restarted.service.reconcile();
      return (await harness.db.selectFrom('payments').select('status').executeTakeFirstOrThrow()).status === 'fulfilled';
    }, 'recovery');
    const done = await harness.db.selectFrom('payments').selectAll().executeTakeFirstOrThrow();
    expect(done.settle_tx_hash).toBe(recorded.settle_tx_hash);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC);
    expect(await h.db.selectFrom('cards').selectAll().execute()).toHaveLength(1);
  });
});
