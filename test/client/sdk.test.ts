import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { ApiError, InsufficientBalanceError } from '../../src/client/errors.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

const USDC = 10_000_000n;

describe('Card402Client against a real server and the local ledger', () => {
  let server: BootedServer;
  beforeAll(async () => {
    server = await bootServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  function clientFor(keypair: Keypair, extra: Partial<ConstructorParameters<typeof Card402Client>[0]> = {}) {
    return new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: keypair, ...extra });
  }

  it('health and pricing', async () => {
    const client = new Card402Client({ baseUrl: server.apiUrl });
    expect((await client.health()).status).toBe('ok');
    expect((await client.pricing()).cardFee).toBe(10);
  });

  it('buys a card, manages it, funds it, and the chain moves by exactly the price', async () => {
    const agent = await server.fundedWallet('500');
    let pinned: string | undefined;
    const client = clientFor(agent, { onPayToPinned: (payTo) => (pinned = payTo), limits: { spendCapAtomic: 1_000n * USDC } });
    const before = await client.usdcBalance();
    expect(before).toBe(500n * USDC);

    const created = await client.createCard({ amount: '100', nameOnCard: 'Ada Agent', email: 'ada@example.com' });
    expect(created.success).toBe(true);
    expect(created.payment.amountCharged).toBe(113.5);
    expect(created.card.balance).toBe(100);
    expect(created.detailsEnvelope!.cardNumber).toMatch(/^\d{16}$/);
    expect(pinned).toMatch(/^G[A-Z2-7]{55}$/);
    expect(client.spent).toBe(1_135_000_000n);
    const cardId = created.card.cardId;

    expect((await client.listCards()).cards.map((c) => c.cardId)).toEqual([cardId]);
    expect((await client.getCard(cardId)).card).toMatchObject({ cardId, nameOnCard: 'Ada Agent', status: 'active' });
    const details = await client.getDetails(cardId);
    expect(details.details.cardNumber).toBe(created.detailsEnvelope!.cardNumber);
    const second = await client.getDetails(cardId);
    expect(second.details.cvv).toBe(created.detailsEnvelope!.cvv);

    expect(await client.freeze(cardId)).toEqual({ success: true, cardId, status: 'frozen' });
    expect(await client.unfreeze(cardId)).toEqual({ success: true, cardId, status: 'active' });
    expect(await client.revokeDetails(cardId)).toEqual({ success: true, cardId, detailsRevoked: true });
    await expect(client.getDetails(cardId)).rejects.toMatchObject({ status: 403 });
    expect(await client.restoreDetails(cardId)).toEqual({ success: true, cardId, detailsRevoked: false });

    const funded = await client.fundCard(cardId, '200');
    expect(funded).toMatchObject({ success: true, cardId, fundedAmount: 200, newBalance: 300 });
    expect(funded.payment.amountCharged).toBe(207);
    expect((await client.balance(cardId)).balance).toBe(300);
    const history = await client.transactions(cardId);
    expect(history.transactions.map((t) => t.type)).toEqual(['fund', 'initial_load']);
    const firstPage = await client.transactions(cardId, { limit: 1 });
    expect(firstPage.transactions).toHaveLength(1);

    const payment = await client.payment(funded.payment.paymentId);
    expect(payment).toMatchObject({ paymentId: funded.payment.paymentId, status: 'fulfilled' });

    expect(before - (await client.usdcBalance())).toBe(1_135_000_000n + 2_070_000_000n);
    expect(client.spent).toBe(1_135_000_000n + 2_070_000_000n);
  });

  it('re-reading details with the same nonce is refused with 409 REPLAY_REJECTED', async () => {
    const client = clientFor(await server.fundedWallet('50'));
    const { card } = await client.createCard({ amount: '0', nameOnCard: 'Bo', email: 'bo@example.com' });
    const nonce = randomUUID();
    await client.getDetailsWithNonce(card.cardId, nonce);
    const err = await client.getDetailsWithNonce(card.cardId, nonce).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).code).toBe('REPLAY_REJECTED');
  });

  it('an owner wallet can revoke and restore; the agent cannot restore', async () => {
    const owner = clientFor(Keypair.random());
    const agent = clientFor(await server.fundedWallet('50'));
    const { card } = await agent.createCard({ amount: '0', nameOnCard: 'Cy', email: 'cy@example.com', ownerAddress: owner.address });
    expect((await owner.listCards()).cards).toEqual([]);
    const assigned = await owner.listAssignedCards();
    expect(assigned.role).toBe('owner');
    expect(assigned.cards.map((c) => [c.cardId, c.agentAddress])).toEqual([[card.cardId, agent.address]]);
    await owner.revokeDetails(card.cardId);
    await expect(agent.getDetails(card.cardId)).rejects.toMatchObject({ status: 403 });
    await expect(agent.restoreDetails(card.cardId)).rejects.toMatchObject({ status: 403 });
    await owner.restoreDetails(card.cardId);
    expect((await agent.getDetails(card.cardId)).details.cardNumber).toMatch(/^\d{16}$/);
  });

  it('a stranger sees 404 for a card that is not theirs', async () => {
    const agent = clientFor(await server.fundedWallet('50'));
    const { card } = await agent.createCard({ amount: '0', nameOnCard: 'Di', email: 'di@example.com' });
    const stranger = clientFor(Keypair.random());
    await expect(stranger.getCard(card.cardId)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.getDetails(card.cardId)).rejects.toMatchObject({ status: 404 });
  });

  it('refuses to pay when the wallet cannot cover the price, before signing', async () => {
    const agent = await server.fundedWallet('5');
    const client = clientFor(agent);
    await expect(client.createCard({ amount: '0', nameOnCard: 'Ed', email: 'ed@example.com' })).rejects.toBeInstanceOf(InsufficientBalanceError);
    expect(client.spent).toBe(0n);
    expect(await client.usdcBalance()).toBe(5n * USDC);
  });

  it('rejects a bad amount locally, without a request', async () => {
    const client = clientFor(await server.fundedWallet('50'));
    await expect(client.createCard({ amount: '1.234', nameOnCard: 'Fa', email: 'fa@example.com' })).rejects.toThrow(/amount/);
    await expect(client.createCard({ amount: 0.1 + 0.2, nameOnCard: 'Fa', email: 'fa@example.com' })).rejects.toThrow(/amount/);
    await expect(client.fundCard(randomUUID(), '4.99')).rejects.toThrow(/amount/);
  });
});
