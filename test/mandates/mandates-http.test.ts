import { Keypair, TransactionBuilder, rpc as sdkRpc } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { ApiError } from '../../src/client/errors.js';
import { signApproveEntry } from '../../src/client/mandate-approval.js';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT } from '../../src/localnet/index.js';
import { MANDATE_ID_HEADER } from '../../src/protocol/mandates.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CARD = { nameOnCard: 'Mandy Agent', email: 'mandy@example.com' };
// create tier 10: $10 card + $10 load + 3.5% = $20.35
const PRICE_ATOMIC = 20_3500000n;

function clientFor(harness: PaidHarness, wallet: Keypair): Card402Client {
  return new Card402Client({ baseUrl: harness.baseUrl, rpcUrl: harness.ledgerServer.rpcUrl, signer: wallet });
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an API error');
}

/** An agent, an owner with USDC, and an active mandate of `total` dollars approved on-chain. */
async function activeMandate(harness: PaidHarness, total = '50') {
  const agent = harness.agent(0n);
  const owner = harness.agent(500n * USDC);
  const agentClient = clientFor(harness, agent);
  const ownerClient = clientFor(harness, owner);
  const requested = await agentClient.requestMandate({ ownerAddress: owner.publicKey(), rules: [{ amount: total, period: 'total' }], note: 'cards for the trip' });
  const approved = await ownerClient.approveMandate(requested.id);
  return { agent, owner, agentClient, ownerClient, mandate: approved };
}

describe('mandates over HTTP on the local ledger', () => {
  it('request → approve on-chain (fee sponsored) → two purchases → a third refused by the rule → revoked', async () => {
    h = await makePaidHarness();
    const harness = h;
    const agent = h.agent(0n);
    const owner = h.agent(500n * USDC);
    const agentClient = clientFor(h, agent);
    const ownerClient = clientFor(h, owner);
    const ownerXlm = h.localnet.xlmBalance(owner.publicKey());

    const requested = await agentClient.requestMandate({ ownerAddress: owner.publicKey(), rules: [{ amount: '50', period: 'total' }], note: 'cards for the trip' });
    expect(requested.id).toMatch(/^md_[a-z2-7]{26}$/);
    expect(requested.phase).toBe('requires-verification');
    expect(requested.allowance).toBe('50.00');
    expect(requested.approvalUrl).toBe(`http://card402.test/mandates/${requested.id}/approve`);
    expect(Date.parse(requested.expiresAt) - Date.parse(requested.createdAt)).toBe(7 * 24 * 3600 * 1000);

    // The approval page shows the mandate and the CLI path, under the app's strict CSP.
    const page = await fetch(`${h.baseUrl}/mandates/${requested.id}/approve`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const text = await page.text();
    expect(text).toContain(requested.id);
    expect(text).toContain(`card402 mandate approve http://card402.test/mandates/${requested.id}/approve`);
    expect(text).toContain('50.00 USDC');

    // Not active yet: a purchase is refused before anything moves.
    const early = await apiError(agentClient.createCardWithMandate(requested.id, { amount: 10, ...CARD }));
    expect(early.status).toBe(403);
    expect(early.body).toMatchObject({ code: 'MANDATE_NOT_ACTIVE', phase: 'requires-verification' });

    const approved = await ownerClient.approveMandate(requested.id);
    expect(approved.phase).toBe('active');
    expect(approved.allowanceLeftAtomic).toBe((50n * USDC).toString());
    // card402 paid the fee: the owner signed only the authorization entry.
    expect(h.localnet.xlmBalance(owner.publicKey())).toBe(ownerXlm);

    const treasuryBefore = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const first = await agentClient.createCardWithMandate(requested.id, { amount: 10, ...CARD });
    const second = await agentClient.createCardWithMandate(requested.id, { amount: 10, ...CARD });
    expect(first.card.balance).toBe(10);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - 2n * PRICE_ATOMIC);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasuryBefore + 2n * PRICE_ATOMIC);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(0n);

    // The card's holder is the agent, its owner the mandate's owner.
    const card = await agentClient.getCard(first.card.cardId);
    expect(card.card).toMatchObject({ ownerAddress: owner.publicKey() });
    expect((await ownerClient.listAssignedCards()).cards.map((c) => c.cardId).sort()).toEqual([first.card.cardId, second.card.cardId].sort());
    // The agent (holder) and the owner (payer) both see the payment.
    const payment = await agentClient.payment(first.payment.paymentId);
    expect(payment).toMatchObject({ status: 'fulfilled', payer: owner.publicKey() });

    const third = await apiError(agentClient.createCardWithMandate(requested.id, { amount: 10, ...CARD }));
    expect(third.status).toBe(403);
    expect(third.body).toMatchObject({ code: 'MANDATE_RULE_EXCEEDED', period: 'total', remaining: '9.30' });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - 2n * PRICE_ATOMIC);

    const seen = await ownerClient.getMandate(requested.id);
    expect(seen.rules).toEqual([{ period: 'total', amount: '50.00', spent: '40.70', remaining: '9.30', periodStart: null, periodEnd: null }]);
    expect(seen.allowanceLeftAtomic).toBe((50n * USDC - 2n * PRICE_ATOMIC).toString());

    // Strangers learn nothing; the agent cannot revoke.
    const stranger = clientFor(h, Keypair.random());
    expect((await apiError(stranger.getMandate(requested.id))).status).toBe(404);
    const byAgent = await apiError(agentClient.revokeMandate(requested.id, { onChain: false }));
    expect(byAgent.body).toMatchObject({ code: 'OWNER_ONLY' });

    const revoked = await ownerClient.revokeMandate(requested.id);
    expect(revoked).toMatchObject({ phase: 'revoked', endReason: 'owner' });
    expect(revoked.revokeTxHash).toMatch(/^[0-9a-f]{64}$/);
    expect((await harness.stack.rpc.transaction(revoked.revokeTxHash!)).status).toBe('SUCCESS');
    expect((await ownerClient.getMandate(requested.id)).allowanceLeftAtomic).toBeNull();
    const after = await apiError(agentClient.createCardWithMandate(requested.id, { amount: 5, ...CARD }));
    expect(after.body).toMatchObject({ code: 'MANDATE_REVOKED' });
  });

  it('a top-up within a mandate funds the agent\'s card from the owner\'s allowance; a stranger\'s card is 404 before anything moves', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, mandate } = await activeMandate(h, '100');
    const created = await agentClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD });
    const funded = await agentClient.fundCardWithMandate(mandate.id, created.card.cardId, 20); // $20 + 3.5% = $20.70
    expect(funded).toMatchObject({ success: true, cardId: created.card.cardId, fundedAmount: 20, newBalance: 30 });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC - 20_7000000n);
    const other = await clientFor(h, h.agent(100n * USDC)).createCard({ amount: 10, ...CARD });
    const refused = await apiError(agentClient.fundCardWithMandate(mandate.id, other.card.cardId, 20));
    expect(refused.status).toBe(404);
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC - 20_7000000n);
    expect((await agentClient.getMandate(mandate.id)).rules[0]).toMatchObject({ spent: '41.05' });
  });

  it('a transfer the network refuses outright moves nothing: 503, the payment failed for good, and the next purchase goes through', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, mandate } = await activeMandate(h);
    h.localnet.faults.failNextSend('ERROR');
    const refused = await apiError(agentClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD }));
    expect(refused.status).toBe(503);
    const [failed] = await h.db.selectFrom('payments').selectAll().execute();
    expect(failed).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/^send_refused:/) });
    expect(failed!.fate_closed_at).not.toBeNull();
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC);
    await agentClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - PRICE_ATOMIC);
    expect((await agentClient.getMandate(mandate.id)).rules[0]).toMatchObject({ spent: '20.35' });
  });

  it('the owner can clear the allowance directly on-chain: the mandate ends revoked and purchases are refused', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, mandate } = await activeMandate(h);
    // The owner's own transaction, not through card402: approve(owner, spender, 0, 0), owner as source.
    const server = new sdkRpc.Server(h.ledgerServer.rpcUrl, { allowHttp: true });
    const entry = await signApproveEntry({ contract: LOCALNET_USDC_CONTRACT, from: owner.publicKey(), spender: mandate.spender, amountAtomic: 0n, liveUntilLedger: 0 }, owner, h.localnet.latestLedger() + 50, LOCALNET_PASSPHRASE);
    await revokeOnChain(server, owner, entry);
    const refused = await apiError(agentClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD }));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'MANDATE_REVOKED' });
    const seen = await agentClient.getMandate(mandate.id);
    expect(seen).toMatchObject({ phase: 'revoked', endReason: 'on_chain' });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC);
    expect(await h.db.selectFrom('payments').selectAll().execute()).toEqual([]);
  });

  it('the owner revoking on-chain while a purchase is in flight: the transfer fails, nothing is charged, the mandate is revoked', async () => {
    let owner: Keypair | undefined;
    let spender: string | undefined;
    let revokeFirst: (() => Promise<void>) | undefined;
    h = await makePaidHarness({
      rpcFetch: (inner) => async (url, init) => {
        const body = JSON.parse(String(init.body)) as { method: string; params?: { transaction?: string } };
        if (revokeFirst && body.method === 'sendTransaction' && isTransferFrom(body.params?.transaction)) {
          // card402 has checked the rules, simulated the transfer and recorded the payment; the
          // owner's revocation lands before its transaction does.
          const go = revokeFirst;
          revokeFirst = undefined;
          await go();
        }
        return inner(url, init);
      },
    });
    const harness = h;
    const active = await activeMandate(h);
    owner = active.owner;
    spender = active.mandate.spender;
    const server = new sdkRpc.Server(h.ledgerServer.rpcUrl, { allowHttp: true });
    revokeFirst = async () => {
      const entry = await signApproveEntry({ contract: LOCALNET_USDC_CONTRACT, from: owner!.publicKey(), spender: spender!, amountAtomic: 0n, liveUntilLedger: 0 }, owner!, harness.localnet.latestLedger() + 50, LOCALNET_PASSPHRASE);
      await revokeOnChain(server, owner!, entry);
    };
    const refused = await apiError(active.agentClient.createCardWithMandate(active.mandate.id, { amount: 10, ...CARD }));
    expect(revokeFirst).toBeUndefined();
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'MANDATE_REVOKED' });
    expect(h.localnet.usdcBalance(active.owner.publicKey())).toBe(500n * USDC);
    const payments = await h.db.selectFrom('payments').selectAll().execute();
    expect(payments.map((p) => [p.status, p.last_error])).toEqual([['failed', 'transaction_failed']]);
    expect(payments[0]!.fate_closed_at).not.toBeNull();
    expect((await active.agentClient.getMandate(active.mandate.id)).phase).toBe('revoked');
  });

  it('a wallet-signed purchase needs the agent: the owner, a stranger or an unsigned request cannot spend the mandate', async () => {
    h = await makePaidHarness();
    const { ownerClient, mandate } = await activeMandate(h);
    const byOwner = await apiError(ownerClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD }));
    expect(byOwner.body).toMatchObject({ code: 'MANDATE_NOT_FOUND' });
    const byStranger = await apiError(clientFor(h, Keypair.random()).createCardWithMandate(mandate.id, { amount: 10, ...CARD }));
    expect(byStranger.status).toBe(404);
    const unsigned = await fetch(`${h.baseUrl}/cards/create/tier/10`, { method: 'POST', headers: { 'content-type': 'application/json', [MANDATE_ID_HEADER]: mandate.id }, body: JSON.stringify(CARD) });
    expect(unsigned.status).toBe(401);
    // A bad body is 400 before anything else, as for any paid request.
    const route = '/cards/create/tier/10';
    const bad = JSON.stringify({ nameOnCard: '' });
    const badBody = await fetch(h.baseUrl + route, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [MANDATE_ID_HEADER]: mandate.id, ...walletAuthHeadersV2(Keypair.random(), { method: 'POST', url: route, body: bad }) },
      body: bad,
    });
    expect(badBody.status).toBe(400);
  });

  it('concurrent purchases never exceed the rule: the reservation is atomic', async () => {
    h = await makePaidHarness();
    const { owner, agentClient, mandate } = await activeMandate(h, '50');
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => agentClient.createCardWithMandate(mandate.id, { amount: 10, ...CARD })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof ApiError ? [r.reason.body] : []));
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const body of refused) expect(body).toMatchObject({ code: 'MANDATE_RULE_EXCEEDED' });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(500n * USDC - 2n * PRICE_ATOMIC);
  });

  it('an approval entry that is not the mandate approve is refused before anything is sent', async () => {
    h = await makePaidHarness();
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const requested = await clientFor(h, agent).requestMandate({ ownerAddress: owner.publicKey(), rules: [{ amount: 20, period: 'weekly' }] });
    const approval = await clientFor(h, owner).mandateApproval(requested.id);
    const post = (authEntry: string) => fetch(`${h!.baseUrl}/mandates/${requested.id}/approval`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ authEntry }) });
    const terms = { contract: approval.contract, from: approval.from, spender: approval.spender, amountAtomic: BigInt(approval.amountAtomic), liveUntilLedger: approval.liveUntilLedger };
    const cases: [string, Promise<string>][] = [
      ['auth_entry_wrong_amount', signApproveEntry({ ...terms, amountAtomic: terms.amountAtomic * 10n }, owner, approval.latestLedger + 20, LOCALNET_PASSPHRASE)],
      ['auth_entry_wrong_spender', signApproveEntry({ ...terms, spender: agent.publicKey() }, owner, approval.latestLedger + 20, LOCALNET_PASSPHRASE)],
      ['auth_entry_wrong_expiration', signApproveEntry({ ...terms, liveUntilLedger: terms.liveUntilLedger + 100_000 }, owner, approval.latestLedger + 20, LOCALNET_PASSPHRASE)],
      ['auth_entry_not_owner', signApproveEntry({ ...terms, from: agent.publicKey() }, agent, approval.latestLedger + 20, LOCALNET_PASSPHRASE)],
    ];
    for (const [reason, entry] of cases) {
      const res = await post(await entry);
      expect(res.status, reason).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_AUTH_ENTRY', reason });
    }
    // Signed by someone else for the owner's address: the ledger refuses it in simulation.
    const forged = await post(await signedByOther(terms, approval.latestLedger + 20));
    expect(await forged.json()).toMatchObject({ code: 'INVALID_AUTH_ENTRY', reason: 'rejected_by_ledger' });
    expect((await clientFor(h, owner).getMandate(requested.id)).phase).toBe('requires-verification');
  });
});

function isTransferFrom(envelopeXdr: string | undefined): boolean {
  if (!envelopeXdr) return false;
  const tx = TransactionBuilder.fromXDR(envelopeXdr, LOCALNET_PASSPHRASE);
  if (!('operations' in tx)) return false;
  const op = tx.operations[0];
  return op?.type === 'invokeHostFunction' && op.func.switch().name === 'hostFunctionTypeInvokeContract' && op.func.invokeContract().functionName().toString() === 'transfer_from';
}

/** The owner submits its signed approve(…, 0, …) itself and waits for it to land. */
async function revokeOnChain(server: sdkRpc.Server, owner: Keypair, entryXdr: string): Promise<void> {
  const { Contract, xdr } = await import('@stellar/stellar-sdk');
  const entry = xdr.SorobanAuthorizationEntry.fromXDR(entryXdr, 'base64');
  const args = entry.rootInvocation().function().contractFn().args();
  const op = new Contract(LOCALNET_USDC_CONTRACT).call('approve', ...args);
  op.body().invokeHostFunctionOp().auth([entry]);
  const account = await server.getAccount(owner.publicKey());
  const tx = new TransactionBuilder(account, { fee: '1000', networkPassphrase: LOCALNET_PASSPHRASE }).addOperation(op).setTimeout(60).build();
  const prepared = await server.prepareTransaction(tx);
  prepared.sign(owner);
  const sent = await server.sendTransaction(prepared);
  if (sent.status !== 'PENDING') throw new Error(`revocation send: ${sent.status}`);
  for (;;) {
    const got = await server.getTransaction(sent.hash);
    if (got.status === sdkRpc.Api.GetTransactionStatus.SUCCESS) return;
    if (got.status === sdkRpc.Api.GetTransactionStatus.FAILED) throw new Error('revocation failed');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An entry with the owner's address but another key's signature. */
async function signedByOther(terms: { contract: string; from: string; spender: string; amountAtomic: bigint; liveUntilLedger: number }, expiration: number): Promise<string> {
  const { authorizeEntry } = await import('@stellar/stellar-sdk');
  const { approveEntry } = await import('../../src/client/mandate-approval.js');
  return (await authorizeEntry(approveEntry(terms), Keypair.random(), expiration, LOCALNET_PASSPHRASE)).toXDR('base64');
}
