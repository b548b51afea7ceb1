import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentPayload } from '../../src/protocol/x402.js';
import { burnNonce, countingSends, entryOf, sendPayment, signedPayment, submitPayment, until } from '../helpers/attack.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

/**
 * Property: over any interleaving of honest payments, nonces burned by the payer (before or after
 * our settlement, in the same ledger), settlements that fail to send, and third parties landing a
 * payer's signed entry after we answered "failed", the treasury pays out (refunds) no more than the
 * transfers that reached it for those payments, and no payer loses money without a card.
 */

const ROUTE = '/cards/create/tier/25';
const BODY = { nameOnCard: 'Pat Property', email: 'pat@example.com' };
const PRICE = 35_8800000n;

type Adversary = 'honest' | 'burn_first' | 'burn_after' | 'send_fails_then_thief' | 'send_fails_then_burn';
const adversaries: Adversary[] = ['honest', 'burn_first', 'burn_after', 'send_fails_then_thief', 'send_fails_then_burn'];

let h: PaidHarness;
const sends = countingSends();
beforeAll(async () => {
  h = await makePaidHarness({ ledgerMs: 'manual', env: { SETTLE_POLL_TIMEOUT_MS: '300' }, rpcFetch: sends.rpcFetch });
});
afterAll(async () => {
  await h.close();
});

const signed = (agent: ReturnType<PaidHarness['agent']>) => signedPayment(h, agent, ROUTE, BODY);
const send = (payment: PaymentPayload) => sendPayment(h, ROUTE, BODY, payment);

async function play(adversary: Adversary, reconcileMidway: boolean) {
  const agent = h.agent(100n * USDC);
  const accomplice = h.agent(0n);
  const asset = h.config.stellar.usdcContract;
  const payment = await signed(agent);
  const sentBefore = sends.sent();
  switch (adversary) {
    case 'honest':
    case 'burn_after': {
      const answer = send(payment);
      await until(() => sends.sent() > sentBefore, 'our settlement to be sent');
      if (adversary === 'burn_after') await burnNonce(h.ledgerServer.rpcUrl, payment, agent, accomplice, asset);
      await h.localnet.closeLedger();
      await answer;
      break;
    }
    case 'burn_first': {
      await burnNonce(h.ledgerServer.rpcUrl, payment, agent, accomplice, asset);
      const answer = send(payment);
      await until(() => sends.sent() > sentBefore, 'our settlement to be sent');
      await h.localnet.closeLedger();
      await answer;
      break;
    }
    case 'send_fails_then_thief':
    case 'send_fails_then_burn': {
      h.localnet.faults.failNextSend('ERROR', 50);
      await send(payment);
      h.localnet.faults.failNextSend('ERROR', 0);
      if (adversary === 'send_fails_then_thief') await submitPayment(h.ledgerServer.rpcUrl, payment, accomplice);
      else await burnNonce(h.ledgerServer.rpcUrl, payment, agent, accomplice, asset);
      await h.localnet.closeLedger();
      break;
    }
  }
  if (reconcileMidway) await h.stack.service.reconcile();
  return { agent, payment };
}

describe('evidence property: refunds never exceed the transfers that reached the treasury', () => {
  it('holds over random interleavings of honest and adversarial payments', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...adversaries), fc.boolean()), { minLength: 1, maxLength: 4 }), async (plays) => {
        const treasuryBefore = h.localnet.usdcBalance(h.keys.treasury.publicKey());
        const played = [];
        for (const [adversary, midway] of plays) played.push({ adversary, ...(await play(adversary, midway)) });
        // Let every entry expire and every refund land, reconciling as the running server would.
        const lastExpiry = Math.max(...played.map((p) => entryOf(p.payment).expiration));
        while (h.localnet.latestLedger() <= lastExpiry + 1) {
          await h.localnet.closeLedger();
          if (h.localnet.latestLedger() % 9 === 0) await h.stack.service.reconcile();
        }
        for (let i = 0; i < 3; i++) {
          await h.stack.service.reconcile();
          await h.localnet.closeLedger();
        }
        await h.restart().service.reconcile();

        let reachedTreasury = 0n;
        let kept = 0n;
        for (const p of played) {
          const spent = 100n * USDC - h.localnet.usdcBalance(p.agent.publicKey());
          const rows = await h.db.selectFrom('payments').selectAll().where('payer', '=', p.agent.publicKey()).execute();
          const cards = await h.db.selectFrom('cards').select('id').where('agent_address', '=', p.agent.publicKey()).execute();
          const row = rows[0];
          const context = `${p.adversary}: ${JSON.stringify(rows.map((r) => ({ status: r.status, last_error: r.last_error })))}`;
          // No payer is out of pocket without a card; no card without the price.
          expect(spent, context).toBe(BigInt(cards.length) * PRICE);
          expect(rows.length, context).toBeLessThanOrEqual(1);
          if (row?.status === 'fulfilled') kept += PRICE;
          if (row?.settle_tx_hash && row.status !== 'failed') reachedTreasury += PRICE;
          expect(['fulfilled', 'failed', 'refunded', undefined], context).toContain(row?.status);
          if (p.adversary === 'burn_first' || p.adversary === 'send_fails_then_burn') expect(row?.status ?? 'failed', context).toBe('failed');
        }
        const treasuryAfter = h.localnet.usdcBalance(h.keys.treasury.publicKey());
        const refunds = treasuryBefore + reachedTreasury - treasuryAfter;
        expect(refunds).toBeLessThanOrEqual(reachedTreasury);
        expect(treasuryAfter).toBe(treasuryBefore + kept);
      }),
      { numRuns: 6 },
    );
  }, 240_000);
});
