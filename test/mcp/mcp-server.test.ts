import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { saveWallet } from '../../src/cli/wallet-file.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { spawnMcp, textOf, type McpSession } from '../helpers/mcp.js';
import { Keypair } from '@stellar/stellar-sdk';

const ASG_TOOLS = ['get_wallet_status', 'create_card', 'fund_card', 'list_cards', 'get_card', 'get_card_details', 'freeze_card', 'unfreeze_card', 'get_pricing'];

/** Everything a result carries, as the model could see it. */
const everything = (result: CallToolResult) => JSON.stringify(result);
const data = (result: CallToolResult) => result.structuredContent as Record<string, any>;

function expectOk(result: CallToolResult): Record<string, any> {
  expect(result.isError, textOf(result)).toBeFalsy();
  return data(result);
}

function expectToolError(result: CallToolResult, code: string): Record<string, any> {
  expect(result.isError, everything(result)).toBe(true);
  const error = data(result).error;
  expect(error.code, everything(result)).toBe(code);
  expect(error.nextStep.length).toBeGreaterThan(10);
  expect(textOf(result)).toContain(`Error ${code}:`);
  expect(textOf(result)).toContain('Next step:');
  expect(everything(result)).not.toMatch(/\n\s+at |\.ts:\d+/); // no stack trace
  return error;
}

describe('card402 mcp, driven by the official MCP client over stdio', () => {
  let server: BootedServer;
  let wallet: Keypair;
  let env: Record<string, string>;
  let mcp: McpSession;
  let card402Home: string;

  beforeAll(async () => {
    server = await bootServer();
    wallet = await server.fundedWallet('200');
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-mcp-'));
    card402Home = path.join(home, '.card402');
    saveWallet(path.join(card402Home, 'wallet.json'), wallet, { overwrite: false });
    env = {
      HOME: home,
      CARD402_HOME: card402Home,
      CARD402_API_URL: server.apiUrl,
      CARD402_RPC_URL: server.rpcUrl,
      CARD402_MAX_PAYMENT: '50',
      CARD402_SPEND_CAP: '60',
    };
    mcp = await spawnMcp(env);
  });
  afterAll(async () => {
    await mcp?.close();
    await server?.close();
  });

  it('lists ASG\'s nine tools and card402\'s others, each with a valid JSON Schema input', async () => {
    const { tools } = await mcp.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names.slice(0, 9)).toEqual(ASG_TOOLS);
    expect(names).toEqual(expect.arrayContaining(['get_transactions', 'get_balance', 'revoke_card_details', 'restore_card_details', 'get_payment_status']));
    const validator = new AjvJsonSchemaValidator();
    for (const tool of tools) {
      expect(tool.inputSchema.type, tool.name).toBe('object');
      expect(tool.description!.length, tool.name).toBeGreaterThan(40);
      validator.getValidator(tool.inputSchema as never); // compiles, or throws
    }
    const create = tools.find((t) => t.name === 'create_card')!;
    const validate = validator.getValidator(create.inputSchema as never);
    expect(validate({ amount: '25', nameOnCard: 'Ada', email: 'ada@example.com' }).valid).toBe(true);
    expect(validate({ amount: '25', nameOnCard: 'Ada' }).valid).toBe(false);
    expect(create.description).toContain('$50.00'); // the per-payment cap in force
    expect(create.annotations).toMatchObject({ readOnlyHint: false });
  });

  it('buys, reads, freezes and funds a card, paying for real on the local ledger, within the caps', async () => {
    const status = expectOk(await mcp.call('get_wallet_status'));
    expect(status).toMatchObject({ address: wallet.publicKey(), usdcBalance: '200.00', readyForCardCreation: true, apiReachable: true });
    expect(status.spending).toEqual({ maxPayment: '50.00', sessionCap: '60.00', spentThisSession: '0.00', remainingThisSession: '60.00' });

    const pricing = expectOk(await mcp.call('get_pricing', { amount: '25' }));
    expect(pricing.quote.createCard).toMatchObject({ load: '25.00', cardFee: '10.00', topUpFee: '0.88', total: '35.88', totalAtomic: '358800000' });
    expect(pricing.quote.fundCard.total).toBe('25.88');

    const created = await mcp.call('create_card', { amount: '25', nameOnCard: 'Mcp Agent', email: 'mcp@example.com' });
    const purchase = expectOk(created);
    expect(purchase.price.total).toBe('35.88');
    expect(purchase.payment.amountCharged).toBe('35.88');
    expect(purchase.payment.txHash).toMatch(/^[0-9a-f]{64}$/);
    expect(purchase.card).toMatchObject({ nameOnCard: 'Mcp Agent', balance: 25, lastFour: expect.stringMatching(/^\d{4}$/), expiry: expect.stringMatching(/^\d{2}\/\d{4}$/) });
    expect(purchase.spending.spentThisSession).toBe('35.88');
    expect(textOf(created)).toContain('paid $35.88');
    const cardId: string = purchase.card.cardId;

    // The real card data, read with the SDK (outside MCP), to prove it appears in no result.
    const sdk = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: wallet });
    const { details } = await sdk.getDetails(cardId);
    const pan = details.cardNumber;
    const noCardData = (result: CallToolResult) => {
      const all = everything(result);
      expect(all).not.toContain(pan);
      expect(all).not.toContain(JSON.stringify(details.cvv));
      const keys: string[] = [];
      const walk = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) (keys.push(k), walk(v));
        else expect(value).not.toBe(details.cvv);
      };
      walk(result.structuredContent);
      expect(keys.filter((k) => /cvv|cardNumber|billing/i.test(k))).toEqual([]);
    };
    noCardData(created);

    const list = await mcp.call('list_cards');
    expect(expectOk(list).cards.map((c: { cardId: string }) => c.cardId)).toEqual([cardId]);
    noCardData(list);

    const card = await mcp.call('get_card', { cardId });
    expect(expectOk(card).card).toMatchObject({ cardId, status: 'active', lastFour: pan.slice(-4), detailsRevoked: false });
    noCardData(card);

    const safeDetails = await mcp.call('get_card_details', { cardId });
    expect(expectOk(safeDetails)).toMatchObject({ revealed: false, lastFour: pan.slice(-4), expiryMonth: details.expiryMonth, expiryYear: details.expiryYear });
    expect(data(safeDetails).howToGetFullDetails).toContain(`card402 card details ${cardId} --reveal`);
    noCardData(safeDetails);
    expect(everything(safeDetails)).not.toContain(details.billingAddress.line1);

    expect(expectOk(await mcp.call('freeze_card', { cardId }))).toEqual({ success: true, cardId, status: 'frozen' });
    expect(expectOk(await mcp.call('get_card', { cardId })).card.status).toBe('frozen');
    expect(expectOk(await mcp.call('unfreeze_card', { cardId }))).toEqual({ success: true, cardId, status: 'active' });

    const funded = expectOk(await mcp.call('fund_card', { cardId, amount: 10 }));
    expect(funded).toMatchObject({ cardId, fundedAmount: '10.00', newBalance: '35.00', price: { total: '10.35' }, payment: { amountCharged: '10.35' } });
    expect(funded.payment.txHash).toMatch(/^[0-9a-f]{64}$/);
    expect(funded.spending).toMatchObject({ spentThisSession: '46.23', remainingThisSession: '13.77' });

    const payment = expectOk(await mcp.call('get_payment_status', { paymentId: funded.payment.paymentId }));
    expect(payment).toMatchObject({ status: 'fulfilled', cardId, txHash: funded.payment.txHash });
    expect(expectOk(await mcp.call('get_balance', { cardId }))).toMatchObject({ balance: 35 });
    expect(expectOk(await mcp.call('get_transactions', { cardId })).transactions).toHaveLength(2);
    expect(expectOk(await mcp.call('revoke_card_details', { cardId })).detailsRevoked).toBe(true);
    expectToolError(await mcp.call('get_card_details', { cardId }), 'DETAILS_REVOKED');
    expect(expectOk(await mcp.call('restore_card_details', { cardId })).detailsRevoked).toBe(false);

    // Spend controls and a test purchase on the sandbox network (the card data stays inside the SDK call).
    const limited = await mcp.call('set_card_limit', { cardId, amount: '20', per: 'day' });
    expect(expectOk(limited).controls.limits).toEqual([{ amountCents: 2000, frequency: 'per24HourPeriod' }]);
    const blocked = expectOk(await mcp.call('update_card_controls', { cardId, blockedCategories: ['7995'] }));
    expect(blocked.controls).toMatchObject({ blockedCategories: ['7995'], limits: [{ amountCents: 2000, frequency: 'per24HourPeriod' }] });
    expectToolError(await mcp.call('update_card_controls', { cardId }), 'INVALID_INPUT');
    const merchant = { name: 'Acme', mcc: '5734', country: 'US' };
    const declined = await mcp.call('sandbox_charge', { cardId, amount: '25', merchant });
    expect(expectOk(declined).authorization).toMatchObject({ status: 'declined', declineReason: 'spending_limit' });
    const approved = await mcp.call('sandbox_charge', { cardId, amount: 5, merchant });
    expect(expectOk(approved).authorization).toMatchObject({ status: 'approved', amountCents: 500 });
    expect(textOf(approved)).toContain('Approved: $5.00 held at Acme');
    for (const result of [limited, declined, approved]) noCardData(result);

    // Over the caps: refused before anything is requested or signed; the wallet's USDC is untouched.
    const before = expectOk(await mcp.call('get_wallet_status')).usdcBalanceAtomic;
    const overSession = expectToolError(await mcp.call('fund_card', { cardId, amount: '20' }), 'OVER_SPEND_CAP');
    expect(overSession.message).toContain('$20.70');
    expect(overSession.message).toContain('$13.77 left');
    const overPayment = expectToolError(await mcp.call('create_card', { amount: '100', nameOnCard: 'Big', email: 'big@example.com' }), 'OVER_PAYMENT_LIMIT');
    expect(overPayment.message).toContain('$113.50');
    expect(overPayment.message).toContain('nothing was signed');
    expect(expectOk(await mcp.call('get_wallet_status')).usdcBalanceAtomic).toBe(before);
    expect(BigInt(before)).toBe(200_0000000n - 358800000n - 103500000n);
    expect(expectOk(await mcp.call('list_cards')).cards).toHaveLength(1);

    // With the opt-in, get_card_details is ASG's: the full card data.
    const revealing = await spawnMcp({ ...env, CARD402_MCP_REVEAL_DETAILS: 'true' });
    try {
      const revealed = expectOk(await revealing.call('get_card_details', { cardId }));
      expect(revealed).toMatchObject({ revealed: true, details: { cardNumber: pan, cvv: details.cvv, expiryMonth: details.expiryMonth } });
      const { tools } = await revealing.client.listTools();
      expect(tools.find((t) => t.name === 'get_card_details')!.description).toContain('CARD402_MCP_REVEAL_DETAILS=true');
    } finally {
      await revealing.close();
    }
    expect(mcp.stderr()).not.toContain(wallet.secret());
  }, 180_000);

  it('makes a card session whose token never enters the context, then closes the card only when confirmed', async () => {
    // A card bought with the SDK (same wallet), so this test does not depend on the session caps.
    const sdk = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: wallet });
    const { card } = await sdk.createCard({ amount: '25', nameOnCard: 'Closing Agent', email: 'close@example.com' });
    const cardId = card.cardId;

    const details = await mcp.call('get_card_details', { cardId });
    expect(data(details).howToGetFullDetails).toContain('create_card_session');

    const created = await mcp.call('create_card_session', { cardId, ttlSeconds: 120 });
    const made = expectOk(created);
    const sessionId: string = made.session.id;
    expect(made.session).toMatchObject({ cardId, status: 'active', redeemCount: 0, maxRedeemCount: 1 });
    expect(made.tokenFile).toBe(path.join(card402Home, 'sessions', `${sessionId}.token`));
    expect(made.redeemCommand).toContain(`card402 card session redeem ${sessionId}`);
    expect(made.redeemCommand).toContain(`< '${made.tokenFile}'`);
    expect(statSync(made.tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(made.tokenFile, 'utf8').trim();
    expect(token.length).toBeGreaterThan(20);
    expect(everything(created)).not.toContain(token);
    expect(Object.keys(made)).not.toContain('redeemToken');

    // The token from the file redeems with the SDK (no wallet needed), outside the MCP session.
    const redeemed = await new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl }).redeemCardSession(sessionId, token);
    const { details: real } = await sdk.getDetails(cardId);
    expect(redeemed.details.cardNumber).toBe(real.cardNumber);
    const status = expectOk(await mcp.call('get_card_session', { sessionId }));
    expect(status.session).toMatchObject({ id: sessionId, status: 'redeemed', redeemCount: 1 });
    expect(status.redemptions).toHaveLength(1);
    expect(everything(await mcp.call('get_card_session', { sessionId }))).not.toContain(real.cardNumber);
    expectToolError(await mcp.call('get_card_session', { sessionId: 'cs_nope' }), 'INVALID_INPUT');

    // close_card: refused without confirm (nothing happens), then closed with the balance sent back.
    const { tools } = await mcp.client.listTools();
    expect(tools.find((t) => t.name === 'close_card')!.annotations).toMatchObject({ destructiveHint: true });
    const unconfirmed = expectToolError(await mcp.call('close_card', { cardId }), 'INVALID_INPUT');
    expect(unconfirmed.message).toContain('confirm');
    expectToolError(await mcp.call('close_card', { cardId, confirm: false }), 'INVALID_INPUT');
    expect(expectOk(await mcp.call('get_card', { cardId })).card.status).toBe('active');

    const before = BigInt(expectOk(await mcp.call('get_wallet_status')).usdcBalanceAtomic);
    const closing = await mcp.call('close_card', { cardId, confirm: true });
    const closed = expectOk(closing);
    expect(closed).toMatchObject({ cardId, status: 'closed', refunded: { status: 'sent', amount: '25.00', to: wallet.publicKey(), txHash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(textOf(closing)).toContain(`$25.00 sent back to ${wallet.publicKey()}`);
    expect(BigInt(expectOk(await mcp.call('get_wallet_status')).usdcBalanceAtomic)).toBe(before + 25_0000000n);
    expectToolError(await mcp.call('fund_card', { cardId, amount: '5' }), 'CARD_CLOSED');
  }, 180_000);

  it('asks an owner for a mandate and buys within it, under the same caps as its own payments', async () => {
    const owner = await server.fundedWallet('100');
    const requested = await mcp.call('request_mandate', { ownerAddress: owner.publicKey(), amount: '40', period: 'monthly', note: 'cards for the trip' });
    const mandate = expectOk(requested);
    expect(mandate).toMatchObject({ phase: 'requires-verification', ownerAddress: owner.publicKey(), agentAddress: wallet.publicKey(), note: 'cards for the trip' });
    expect(mandate.rules).toEqual([expect.objectContaining({ period: 'monthly', amount: '40.00' })]);
    expect(textOf(requested)).toContain(mandate.approvalUrl);

    expect(expectOk(await mcp.call('get_mandate', { mandateId: mandate.id })).phase).toBe('requires-verification');
    const card = { nameOnCard: 'Trip', email: 'trip@example.com' };
    const early = expectToolError(await mcp.call('create_card_with_mandate', { mandateId: mandate.id, amount: '0', ...card }), 'MANDATE_NOT_ACTIVE');
    expect(early.nextStep).toContain('approvalUrl');
    expectToolError(await mcp.call('get_mandate', { mandateId: 'md_nope' }), 'INVALID_INPUT');

    // The owner approves with the SDK (outside MCP); the agent buys within the mandate: the owner pays.
    await new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: owner }).approveMandate(mandate.id);
    expect(expectOk(await mcp.call('get_mandate', { mandateId: mandate.id })).phase).toBe('active');
    const walletBefore = expectOk(await mcp.call('get_wallet_status'));
    expect(walletBefore.spending.spentThisSession).toBe('46.23'); // the first test's purchases
    const { tools } = await mcp.client.listTools();
    expect(tools.find((t) => t.name === 'create_card_with_mandate')!.description).toContain('$50.00 per purchase');
    const over = expectToolError(await mcp.call('create_card_with_mandate', { mandateId: mandate.id, amount: '100', ...card }), 'OVER_PAYMENT_LIMIT');
    expect(over.message).toContain('nothing was signed');
    const bought = expectOk(await mcp.call('create_card_with_mandate', { mandateId: mandate.id, amount: '0', ...card }));
    expect(bought).toMatchObject({ price: { total: '10.00' }, payment: { amountCharged: '10.00' }, spending: { spentThisSession: '56.23', remainingThisSession: '3.77' } });
    const walletAfter = expectOk(await mcp.call('get_wallet_status'));
    expect(walletAfter.usdcBalanceAtomic).toBe(walletBefore.usdcBalanceAtomic); // the owner paid, not the wallet
    expect(walletAfter.spending.spentThisSession).toBe('56.23'); // the mandate purchase counts against the session cap
    // $5 + 3.5% = $5.18: within the mandate ($30 left), over what is left of the session cap: refused before any request.
    const overSession = expectToolError(await mcp.call('fund_card_with_mandate', { mandateId: mandate.id, cardId: bought.card.cardId, amount: '5' }), 'OVER_SPEND_CAP');
    expect(overSession.message).toContain('$3.77 left');
    expect(expectOk(await mcp.call('get_mandate', { mandateId: mandate.id })).rules[0]).toMatchObject({ spent: '10.00', remaining: '30.00' });
  }, 180_000);

  it('answers bad input and refusals as tool errors with a code and a next step', async () => {
    const badId = expectToolError(await mcp.call('get_card', { cardId: 'not-a-card' }), 'INVALID_INPUT');
    expect(badId.message).toContain('cardId');
    expectToolError(await mcp.call('create_card', { amount: '25', nameOnCard: 'Ada', email: 'not an email' }), 'INVALID_INPUT');
    expectToolError(await mcp.call('create_card', { nameOnCard: 'Ada', email: 'ada@example.com' }), 'INVALID_INPUT');
    const amount = expectToolError(await mcp.call('create_card', { amount: '5.555', nameOnCard: 'Ada', email: 'ada@example.com' }), 'INVALID_AMOUNT');
    expect(amount.message).toContain('two decimals');
    expectToolError(await mcp.call('fund_card', { cardId: '00000000-0000-4000-8000-000000000000', amount: '1' }), 'INVALID_AMOUNT');
    const missing = expectToolError(await mcp.call('get_card', { cardId: '00000000-0000-4000-8000-000000000000' }), 'CARD_NOT_FOUND');
    expect(missing.status).toBe(404);
    expect(missing.nextStep).toContain('list_cards');
  }, 60_000);

  it('tells the agent to onboard when there is no wallet', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-mcp-empty-'));
    const empty = await spawnMcp({ HOME: home, CARD402_HOME: path.join(home, '.card402'), CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl });
    try {
      const error = expectToolError(await empty.call('get_wallet_status'), 'NO_WALLET');
      expect(error.nextStep).toContain('card402 onboard');
      expect(expectOk(await empty.call('get_pricing')).cardFee).toBe(10);
    } finally {
      await empty.close();
    }
  }, 60_000);
});
