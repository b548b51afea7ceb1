import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { healthSchema } from '../../src/protocol/api.js';
import { NETWORK_PASSPHRASES } from '../../src/protocol/networks.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { deriveChannelKeypair } from '../../src/stellar/keys.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { payAndFetch } from '../helpers/pay-and-fetch.js';

const XLM = 10_000_000n;

function logged(logs: string[], message: string): Array<Record<string, unknown>> {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === message);
}

describe('channel accounts at start-up (CHANNEL_ACCOUNTS, CHANNEL_SEED)', () => {
  const dirs: string[] = [];
  const servers: BootedServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates the missing channels from the funding account in batches of 100, once; a restart reuses them and their sequence numbers', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-channels-'));
    dirs.push(dataDir);
    const seed = randomBytes(32).toString('hex');
    const env = { DATA_DIR: dataDir, CHANNEL_ACCOUNTS: '150', CHANNEL_SEED: seed, CHANNEL_TOP_UP_XLM: '3', CHANNEL_LOW_XLM: '1' };
    const channels = Array.from({ length: 150 }, (_, i) => deriveChannelKeypair(Buffer.from(seed, 'hex'), i + 1).publicKey());

    const first = await bootServer(env);
    servers.push(first);
    const ledger = first.running.localnet!.ledger;
    expect(channels.map((c) => ledger.xlmBalance(c))).toEqual(channels.map(() => 3n * XLM));
    expect(logged(first.logs, 'creating channel accounts')).toMatchObject([{ missing: 150, of: 150, batches: 2 }]);
    expect(logged(first.logs, 'channel accounts created').map((l) => l.done)).toEqual([100, 150]);
    expect(logged(first.logs, 'channel accounts ready')).toMatchObject([{ channels: 150, created: 150, toppedUp: 0 }]);

    // /health reports the pool, counts only.
    const health = await fetch(`${first.apiUrl}/health`);
    const body = await health.text();
    expect(health.status).toBe(200);
    expect(healthSchema.parse(JSON.parse(body)).channels).toEqual({ total: 150, available: 150, leased: 0, low: 0 });
    expect(body).not.toMatch(/\bG[A-Z2-7]{55}\b|\bS[A-Z2-7]{55}\b/);

    // A payment moves the first channel's sequence number on.
    const payer = await first.fundedWallet('100');
    const pay = (apiUrl: string, rpcUrl: string) =>
      payAndFetch(fetch, `${apiUrl}/cards/create/tier/25`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nameOnCard: 'Channel Test', email: 'a@example.com' }) }, {
        keypair: payer,
        networkPassphrase: NETWORK_PASSPHRASES['stellar:testnet'],
        rpc: rpcUrl,
      });
    const paid = await pay(first.apiUrl, first.rpcUrl);
    expect(paid.response.status, await paid.response.clone().text()).toBe(201);
    const sequenceBefore = await new SorobanRpc(first.rpcUrl).accountSequence(channels[0]!);
    await servers.pop()!.close();

    // Same DATA_DIR: the same keys and the local ledger's state file.
    const second = await bootServer(env);
    servers.push(second);
    const rpc2 = new SorobanRpc(second.rpcUrl);
    expect(await rpc2.accountSequence(channels[0]!)).toBe(sequenceBefore);
    expect(logged(second.logs, 'creating channel accounts')).toEqual([]);
    expect(logged(second.logs, 'channel accounts ready')).toMatchObject([{ channels: 150, created: 0, toppedUp: 0 }]);
    // The first channel's next transaction uses the sequence number read at start-up: accepted first time.
    const again = await pay(second.apiUrl, second.rpcUrl);
    expect(again.response.status, await again.response.clone().text()).toBe(201);
    expect(await rpc2.accountSequence(channels[0]!)).toBe(sequenceBefore! + 1n);
    expect(second.logs.filter((l) => l.includes('txBAD_SEQ'))).toEqual([]);
  });
});
