import { afterEach, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { Card402Error, PaymentRefusedError } from '../../src/client/errors.js';
import { centsToAtomic } from '../../src/protocol/money/units.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const PRICE = centsToAtomic(3588);

function clients(harness: PaidHarness) {
  const agent = harness.agent(0n);
  const owner = harness.agent(100n * USDC);
  const make = (signer: typeof agent) => new Card402Client({ baseUrl: harness.baseUrl, rpcUrl: harness.ledgerServer.rpcUrl, signer });
  /** The harness's PUBLIC_BASE_URL is not where it listens (a free port): links are pointed at it. */
  const local = (link: string) => link.replace('http://card402.test', harness.baseUrl);
  return { agent, owner, agentClient: make(agent), ownerClient: make(owner), local };
}

describe('SDK: requestCard, waitForRequest, approveRequest, rejectRequest', () => {
  it('the agent asks and waits while the owner approves; the card comes back in the request', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, ownerClient, local } = clients(h);
    const created = await agentClient.requestCard({ amount: 25, nameOnCard: 'Sdk Agent', email: 'sdk@example.com', ownerAddress: owner.publicKey(), note: 'hi' });
    expect(created).toMatchObject({ status: 'approval_required', price: { amountAtomic: PRICE.toString() } });
    const seen: string[] = [];
    const waiting = agentClient.waitForRequest(created.id, { intervalMs: 50, onUpdate: (view) => seen.push(view.status) });
    const link = local(created.approvalUrl);
    expect(await ownerClient.getApproval(link)).toMatchObject({ status: 'pending', ownerAddress: owner.publicKey(), note: 'hi' });
    const approved = await ownerClient.approveRequest(link);
    expect(approved).toMatchObject({ success: true, status: 'completed', cardId: expect.any(String) });
    const done = await waiting;
    expect(done).toMatchObject({ status: 'completed', card: { cardId: approved.cardId, ownerAddress: owner.publicKey() } });
    expect(seen[0]).toBe('pending');
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE);

    // A top-up of that card, rejected by the owner: the agent's wait ends `rejected`.
    const topUp = await agentClient.requestFunding(approved.cardId!, '10');
    expect(await ownerClient.rejectRequest(local(topUp.approvalUrl))).toEqual({ success: true, id: topUp.id, status: 'rejected' });
    expect((await agentClient.waitForRequest(topUp.id, { intervalMs: 50 })).status).toBe('rejected');
  });

  it('signs nothing for a price other than the one shown, nor for another server’s link', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, ownerClient, local } = clients(h);
    const created = await agentClient.requestCard({ amount: 25, nameOnCard: 'Sdk Agent', email: 'sdk@example.com' });
    await expect(ownerClient.approveRequest(local(created.approvalUrl), { expectedAmountAtomic: PRICE - 1n })).rejects.toBeInstanceOf(PaymentRefusedError);
    await expect(ownerClient.approveRequest(created.approvalUrl)).rejects.toBeInstanceOf(Card402Error);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC);
    expect((await agentClient.getPaymentRequest(created.id)).status).toBe('pending');
  });
});
