import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { cli } from '../helpers/cli.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

describe('card402 card limit / sandbox charge against a running server', () => {
  let server: BootedServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await bootServer();
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-spend-'));
    env = { CARD402_HOME: home, CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    expect((await cli(['wallet', 'create', '--json'], env)).code).toBe(0);
    expect((await cli(['wallet', 'fund', '--usdc', '100', '--json'], env)).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('buys a card, limits it to $50 a day, charges it on the sandbox network (approved, then declined by the limit), and never prints card data', async () => {
    const create = await cli(['card', 'create', '--amount', '60', '--name', 'Spend Agent', '--email', 'spend@example.com', '--json', '--spend-cap', '100'], env);
    expect(create.code, create.stderr + create.stdout).toBe(0);
    const cardId: string = JSON.parse(create.stdout).card.cardId;

    const limit = await cli(['card', 'limit', cardId, '--amount', '50', '--per', 'day', '--json'], env);
    expect(limit.code, limit.stderr + limit.stdout).toBe(0);
    expect(JSON.parse(limit.stdout).controls.limits).toEqual([{ amountCents: 5000, frequency: 'per24HourPeriod' }]);

    const charge = await cli(['sandbox', 'charge', cardId, '--amount', '12.50', '--merchant', 'Acme', '--mcc', '5734'], env);
    expect(charge.code, charge.stderr + charge.stdout).toBe(0);
    expect(charge.stdout).toMatch(/^approved: \$12\.50 held at Acme/);
    const declined = await cli(['sandbox', 'charge', cardId, '--amount', '40', '--merchant', 'Acme', '--mcc', '5734', '--json'], env);
    expect(declined.code).toBe(0);
    expect(JSON.parse(declined.stdout).authorization).toMatchObject({ status: 'declined', declineReason: 'spending_limit', declineDetail: 'per24HourPeriod:5000' });

    const balance = JSON.parse((await cli(['card', 'balance', cardId, '--json'], env)).stdout);
    expect(balance).toMatchObject({ balanceCents: 4750, heldCents: 1250 });
    const tx = JSON.parse((await cli(['card', 'transactions', cardId, '--json'], env)).stdout);
    expect(tx.transactions.map((x: { type: string; status: string }) => `${x.type}:${x.status}`)).toEqual(['authorization:declined', 'authorization:approved', 'initial_load:completed']);

    // The card number and CVV appear in none of the outputs.
    const reveal = JSON.parse((await cli(['card', 'details', cardId, '--reveal', '--json'], env)).stdout).details;
    for (const out of [limit, charge, declined]) {
      expect(out.stdout + out.stderr).not.toContain(reveal.cardNumber);
      expect(out.stdout + out.stderr).not.toContain(`"${reveal.cvv}"`);
    }
    expect(server.logs.join('\n')).not.toContain(reveal.cardNumber);

    const bad = await cli(['card', 'limit', cardId, '--amount', '50', '--per', 'fortnight'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--per must be one of/);
  }, 180_000);

  it('the SDK: controls, sandbox authorize/capture/refund, transactions', async () => {
    const wallet = await server.fundedWallet('100');
    const client = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: wallet });
    const { card } = await client.createCard({ amount: 20, nameOnCard: 'Sdk Agent', email: 'sdk@example.com' });
    await client.updateControls(card.cardId, { blockedCategories: ['7995'] });
    const casino = await client.sandboxCharge(card.cardId, { amount: 1, merchant: { name: 'Casino', mcc: '7995', country: 'US' } });
    expect(casino.authorization.declineReason).toBe('category_blocked');
    const ok = await client.sandboxCharge(card.cardId, { amount: '8', merchant: { name: 'Acme', mcc: '5734', country: 'US' } });
    await client.sandboxCapture(ok.authorization.id, '5');
    await client.sandboxRefund(ok.authorization.id, 2);
    expect(await client.balance(card.cardId)).toMatchObject({ balanceCents: 1700, heldCents: 0 });
    expect((await client.getCard(card.cardId)).card.controls?.blockedCategories).toEqual(['7995']);
    const types = (await client.transactions(card.cardId)).transactions.map((x) => x.type);
    expect(types).toEqual(['refund', 'capture', 'authorization', 'authorization', 'initial_load']);
  });
});
