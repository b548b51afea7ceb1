import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneInstanceAtATime } from '../../src/db/leases.js';
import type { Db } from '../../src/db/open.js';
import { isPostgres } from '../../src/db/postgres.js';
import { createLocalnet, serveLocalnet, type Localnet, type LocalnetServer } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { NETWORK_PASSPHRASES } from '../../src/protocol/networks.js';
import { ChannelFunding } from '../../src/stellar/channel-funding.js';
import { oneAtATime } from '../../src/stellar/one-at-a-time.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { openTestDb } from '../helpers/store.js';

const XLM = 10_000_000n;

/**
 * Channel top-ups against the local ledger over HTTP. Two ChannelFunding objects stand for two
 * card402 instances: on PostgreSQL each has its own one-at-a-time queue under the shared
 * advisory lock, as wiring.ts builds them; on SQLite (one process per file) they share one queue.
 */
describe('channel top-ups', () => {
  let ledger: Localnet;
  let server: LocalnetServer;
  let db: Db;
  const funding = Keypair.random();
  const sharedQueue = oneAtATime();

  beforeAll(async () => {
    ledger = createLocalnet({ ledgerMs: 200 });
    server = await serveLocalnet(ledger, { port: 0, host: '127.0.0.1' });
    ledger.start();
    ledger.fundXlm(funding.publicKey(), 1000n * XLM);
    db = openTestDb();
  });
  afterAll(async () => {
    await db.destroy();
    await ledger.stop();
    await server.close();
  });

  const instance = (channels: string[], logger = createMemoryLogger()) =>
    new ChannelFunding({
      rpc: new SorobanRpc(server.rpcUrl),
      funding,
      channels,
      networkPassphrase: NETWORK_PASSPHRASES['stellar:testnet'],
      lowStroops: 2n * XLM,
      topUpStroops: 5n * XLM,
      exclusive: isPostgres(db)
        ? oneAtATime(oneInstanceAtATime(db, 'channel-funding'))
        : sharedQueue,
      logger,
      pollIntervalMs: 50,
      afterUseDelayMs: 0,
    });

  it('tops up a channel below the threshold exactly once when several checks race, and leaves the others alone', async () => {
    const low = Keypair.random().publicKey();
    const fine = Keypair.random().publicKey();
    ledger.fundXlm(low, 15n * XLM / 10n);
    ledger.fundXlm(fine, 10n * XLM);
    const a = instance([low, fine]);
    const b = instance([low, fine]);
    expect(a.lowCount).toBe(2); // nothing read yet
    const counts = await Promise.all([a.check(), b.check(), a.check(), b.check(), a.check()]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(1);
    expect(ledger.xlmBalance(low)).toBe(15n * XLM / 10n + 5n * XLM);
    expect(ledger.xlmBalance(fine)).toBe(10n * XLM);
    expect(a.lowCount + b.lowCount).toBe(0);
  });

  it('checks a channel shortly after it is used, once started', async () => {
    const channel = Keypair.random().publicKey();
    ledger.fundXlm(channel, 1n * XLM);
    const a = instance([channel]);
    a.noteUsed(channel); // not started: nothing happens
    a.start(3_600_000);
    a.noteUsed(channel);
    await expect.poll(() => ledger.xlmBalance(channel), { timeout: 20_000 }).toBe(6n * XLM);
    await a.stop();
  });

  it('creates missing channels at ensure() and reports their sequence numbers; a second ensure() creates nothing', async () => {
    const channels = Array.from({ length: 3 }, () => Keypair.random().publicKey());
    const existing = channels[0]!;
    ledger.fundXlm(existing, 7n * XLM);
    const first = await instance(channels).ensure();
    expect(first.created).toBe(2);
    expect([...first.sequences.keys()].sort()).toEqual([...channels].sort());
    expect(channels.map((c) => ledger.xlmBalance(c))).toEqual([7n * XLM, 5n * XLM, 5n * XLM]);
    const second = await instance(channels).ensure();
    expect(second).toMatchObject({ created: 0, toppedUp: 0 });
    expect(second.sequences).toEqual(first.sequences);
  });
});
