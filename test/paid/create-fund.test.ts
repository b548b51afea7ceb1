import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLuhnValid } from '../../src/cards/sandbox-issuer.js';
import { cardBalanceCents, findCard } from '../../src/cards/repository.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import { bodyOf } from '../helpers/http.js';
import { fetchPayment, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

let h: PaidHarness;
beforeEach(async () => {
  h = await makePaidHarness();
});
afterEach(async () => {
  await h.close();
});

describe('paid card issuance over real HTTP against the local ledger', () => {
  it('creates a card for exactly its price and funds it for exactly its price', async () => {
    const agent = h.agent(1_000n * USDC);
    const treasury = h.keys.treasury.publicKey();
    const before = { agent: h.localnet.usdcBalance(agent.publicKey()), treasury: h.localnet.usdcBalance(treasury) };

    const { response, payment } = await h.pay(agent, '/cards/create/tier/100', { nameOnCard: 'Ada Agent', email: 'ada@example.com' });
    const body = await bodyOf(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(payment).toBeDefined();
    expect(body.success).toBe(true);
    expect(body.card).toMatchObject({ nameOnCard: 'Ada Agent', balance: 100, status: 'active' });
    expect(body.card.cardId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.payment).toMatchObject({ amountCharged: 113.5, network: 'stellar:testnet' });
    expect(body.payment.txHash).toMatch(/^[0-9a-f]{64}$/);
    expect(isLuhnValid(body.detailsEnvelope.cardNumber)).toBe(true);
    expect(body.detailsEnvelope).toMatchObject({ oneTimeAccess: true, cvv: expect.stringMatching(/^\d{3}$/) });
    const address = body.detailsEnvelope.billingAddress;
    expect(address).toMatchObject({ street: address.line1, zip: address.postalCode, city: expect.any(String), state: expect.any(String), country: expect.any(String) });
    const settlement = decodeJsonHeader<Record<string, unknown>>(response.headers.get('PAYMENT-RESPONSE')!);
    expect(settlement).toEqual({ success: true, transaction: body.payment.txHash, network: 'stellar:testnet', payer: agent.publicKey() });

    // Exactly the price moved on the ledger.
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before.agent - 113_5000000n);
    expect(h.localnet.usdcBalance(treasury)).toBe(before.treasury + 113_5000000n);

    // Stored encrypted, with the payer as agent and owner, balance from the ledger entries.
    const card = await findCard(h.db, body.card.cardId);
    expect(card).toMatchObject({ agent_address: agent.publicKey(), owner_address: agent.publicKey(), last_four: body.detailsEnvelope.cardNumber.slice(-4) });
    expect(card!.details_ciphertext.includes(Buffer.from(body.detailsEnvelope.cardNumber))).toBe(false);
    expect(await cardBalanceCents(h.db, body.card.cardId)).toBe(10_000);

    const fund = await h.pay(agent, '/cards/fund/tier/200', { cardId: body.card.cardId });
    const funded = await bodyOf(fund.response);
    expect(fund.response.status, JSON.stringify(funded)).toBe(200);
    expect(funded).toMatchObject({ success: true, cardId: body.card.cardId, fundedAmount: 200, newBalance: 300, payment: { amountCharged: 207 } });
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(before.agent - 113_5000000n - 207_0000000n);
    expect(h.localnet.usdcBalance(treasury)).toBe(before.treasury + 113_5000000n + 207_0000000n);
    expect(await cardBalanceCents(h.db, body.card.cardId)).toBe(30_000);

    const status = await fetchPayment(h, agent, funded.payment.paymentId);
    expect((await fetchPayment(h, Keypair.random(), funded.payment.paymentId)).status).toBe(404);
    expect((await fetch(`${h.baseUrl}/payments/${funded.payment.paymentId}`)).status).toBe(401);
    expect(await bodyOf(status)).toMatchObject({ status: 'fulfilled', kind: 'fund', payer: agent.publicKey(), cardId: body.card.cardId });
  });

  it('keeps payment headers, transactions, card data and keys out of the logs', async () => {
    const agent = h.agent(1_000n * USDC);
    const { response, payment } = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Lou Logs', email: 'lou@example.com' });
    const body = await bodyOf(response);
    expect(response.status).toBe(201);
    const logs = h.logs.join('\n');
    expect(logs).toContain('payment fulfilled');
    const secrets = [
      body.detailsEnvelope.cardNumber,
      JSON.stringify(body.detailsEnvelope.billingAddress),
      payment!.payload.transaction,
      payment!.payload.transaction.slice(0, 40),
      agent.secret(),
      h.keys.treasury.secret(),
      ...h.keys.channels.map((k) => k.secret()),
    ];
    for (const secret of secrets) expect(logs.includes(secret), `log leaks ${secret.slice(0, 12)}…`).toBe(false);
  });
});
