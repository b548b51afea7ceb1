import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';
import { cli } from '../helpers/cli.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';

/** An in-process API over real HTTP (its clock at now: the CLI signs with real time) and a CLI home with the card's holder wallet. */
async function setup() {
  const t = await makeTestApp();
  t.clock.set(Date.now());
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  const apiUrl = await listen(t.app);
  const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-session-'));
  const env = { CARD402_HOME: home, CARD402_API_URL: apiUrl, CARD402_RPC_URL: 'http://127.0.0.1:9/soroban/rpc' };
  const imported = await cli(['wallet', 'import', '--json'], { ...env, CARD402_SECRET: agent.secret() });
  expect(imported.code, imported.stderr).toBe(0);
  return { t, card, env };
}

describe('card402 card session', () => {
  it('create, then redeem with the token on standard input or in CARD402_REDEEM_TOKEN (never argv), get, redemptions', async () => {
    const { card, env } = await setup();
    const create = await cli(['card', 'session', 'create', card.cardId, '--ttl', '120', '--max-redemptions', '2', '--json'], env);
    expect(create.code, create.stderr).toBe(0);
    const created = JSON.parse(create.stdout);
    expect(created.session).toMatchObject({ cardId: card.cardId, status: 'active', maxRedeemCount: 2 });
    const sessionId: string = created.session.id;

    // Redeeming needs no wallet: another home, only the token.
    const stranger = { ...env, CARD402_HOME: mkdtempSync(path.join(os.tmpdir(), 'card402-cli-nowallet-')) };
    const viaStdin = await cli(['card', 'session', 'redeem', sessionId], stranger, `${created.redeemToken}\n`);
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(viaStdin.stdout).toContain(`•••• •••• •••• ${card.details.cardNumber.slice(-4)}`);
    expect(viaStdin.stdout).not.toContain(card.details.cardNumber);
    expect(viaStdin.stdout).not.toContain(created.redeemToken);

    const viaEnv = await cli(['card', 'session', 'redeem', sessionId, '--reveal', '--json'], { ...stranger, CARD402_REDEEM_TOKEN: created.redeemToken });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ session: { status: 'redeemed', redeemCount: 2 }, details: { cardNumber: card.details.cardNumber } });

    const get = await cli(['card', 'session', 'get', sessionId, '--json'], env);
    expect(JSON.parse(get.stdout).session).toMatchObject({ id: sessionId, status: 'redeemed' });
    const redemptions = await cli(['card', 'session', 'redemptions', sessionId, '--json'], env);
    expect(JSON.parse(redemptions.stdout).redemptions).toHaveLength(2);

    const spent = await cli(['card', 'session', 'redeem', sessionId], stranger, created.redeemToken);
    expect(spent.code).toBe(3);
    expect(spent.stderr).toContain('409');
  }, 120_000);

  it('no token: a usage error (exit 2); a token given as an argument is refused as an unknown argument, not used', async () => {
    const { card, env } = await setup();
    const created = JSON.parse((await cli(['card', 'session', 'create', card.cardId, '--json'], env)).stdout);
    const none = await cli(['card', 'session', 'redeem', created.session.id], env, '');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('CARD402_REDEEM_TOKEN');
    const argv = await cli(['card', 'session', 'redeem', created.session.id, '--token', created.redeemToken], env);
    expect(argv.code).toBe(2);
    // The session was not touched.
    const get = await cli(['card', 'session', 'get', created.session.id, '--json'], env);
    expect(JSON.parse(get.stdout).session.redeemCount).toBe(0);
  }, 120_000);

  it('card details opens sealed details locally', async () => {
    const { card, env } = await setup();
    const details = await cli(['card', 'details', card.cardId, '--reveal', '--json'], env);
    expect(details.code, details.stderr).toBe(0);
    expect(JSON.parse(details.stdout).details.cardNumber).toBe(card.details.cardNumber);
  }, 120_000);
});
