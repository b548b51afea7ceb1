import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { cli } from '../helpers/cli.js';

describe('card402 CLI against a running server', () => {
  let server: BootedServer;
  let env: Record<string, string>;
  let secret: string;
  beforeAll(async () => {
    server = await bootServer();
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-'));
    env = { CARD402_HOME: home, CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    const created = await cli(['wallet', 'create', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    secret = JSON.parse(readFileSync(path.join(home, 'wallet.json'), 'utf8')).secretKey;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('funds the wallet, buys a card, reads it masked, freezes it, and never prints a secret', async () => {
    const fund = await cli(['wallet', 'fund', '--usdc', '100', '--json'], env);
    expect(fund.code, fund.stderr).toBe(0);
    expect(JSON.parse(fund.stdout)).toMatchObject({ usdc: '100' });

    const doctor = await cli(['doctor', '--json'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(JSON.parse(doctor.stdout).ok).toBe(true);

    const create = await cli(['card', 'create', '--amount', '25', '--name', 'Cli Agent', '--email', 'cli@example.com', '--json'], env);
    expect(create.code, create.stderr + create.stdout).toBe(0);
    const created = JSON.parse(create.stdout);
    expect(created.card).toMatchObject({ nameOnCard: 'Cli Agent', balance: 25 });
    expect(created.payment.amountCharged).toBe(35.88);
    expect(created.detailsEnvelope.cardNumber).toMatch(/^•••• •••• •••• \d{4}$/);
    expect(created.detailsEnvelope.cvv).toBe('***');
    const cardId: string = created.card.cardId;

    const list = await cli(['cards', '--json'], env);
    expect(JSON.parse(list.stdout).cards.map((c: { cardId: string }) => c.cardId)).toEqual([cardId]);
    const assigned = await cli(['cards', '--assigned'], env);
    expect(assigned.stdout.trim()).toBe('no cards assigned to you by other wallets');

    const masked = await cli(['card', 'details', cardId], env);
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).toContain('•••• •••• •••• ');
    expect(masked.stdout).not.toMatch(/\d{16}/);
    const revealed = await cli(['card', 'details', cardId, '--reveal', '--json'], env);
    expect(JSON.parse(revealed.stdout).details.cardNumber).toMatch(/^\d{16}$/);

    const freeze = await cli(['card', 'freeze', cardId, '--json'], env);
    expect(JSON.parse(freeze.stdout)).toEqual({ success: true, cardId, status: 'frozen' });
    const human = await cli(['card', 'unfreeze', cardId], env);
    expect(human.stdout.trim()).toBe(`card ${cardId} is active`);

    const fundCard = await cli(['card', 'fund', cardId, '--amount', '10', '--json'], env);
    expect(fundCard.code, fundCard.stderr).toBe(0);
    expect(JSON.parse(fundCard.stdout)).toMatchObject({ fundedAmount: 10, newBalance: 35 });
    const payment = await cli(['payment', JSON.parse(fundCard.stdout).payment.paymentId, '--json'], env);
    expect(JSON.parse(payment.stdout).status).toBe('fulfilled');

    const tx = await cli(['card', 'transactions', cardId, '--json'], env);
    expect(JSON.parse(tx.stdout).transactions).toHaveLength(2);

    for (const out of [fund, doctor, create, list, masked, freeze, human, fundCard, tx]) {
      expect(out.stdout + out.stderr).not.toContain(secret);
    }
  }, 180_000);

  it('maps failures to exit codes with one-line errors', async () => {
    const missing = await cli(['card', '00000000-0000-4000-8000-000000000000'], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('404');

    const capped = await cli(['card', 'create', '--amount', '500', '--name', 'Big', '--email', 'b@example.com', '--spend-cap', '20', '--json'], env);
    expect(capped.code).toBe(4);
    expect(JSON.parse(capped.stdout)).toMatchObject({ type: 'PaymentRefusedError' });

    const badAmount = await cli(['card', 'fund', '00000000-0000-4000-8000-000000000000', '--amount', '5.555'], env);
    expect(badAmount.code).not.toBe(0);
    expect(badAmount.stderr).toContain('amount');

    const usage = await cli(['card', 'create', '--amount', '5'], env);
    expect(usage.code).toBe(2);
  }, 120_000);
});
