import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair, rpc } from '@stellar/stellar-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalnet, localnetNetwork } from '../../src/localnet/index.js';
import { USDC, buildTx, fundedAccount, prepareAndSign, signedPayerAuth, startLocalnet, transferOp } from './helpers.js';

describe('localnet state file', () => {
  let dir: string;
  let statePath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'localnet-state-'));
    statePath = join(dir, 'nested', 'localnet.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a restarted ledger keeps accounts, balances, sequence numbers, used nonces and transactions', async () => {
    const first = await startLocalnet({ statePath });
    const payer = fundedAccount(first.localnet, 10n * USDC);
    const payee = fundedAccount(first.localnet);
    const channel = fundedAccount(first.localnet);
    const entry = await signedPayerAuth(first, payer, payee.publicKey(), 4n * USDC, { channel: channel.publicKey(), expiration: first.localnet.latestLedger() + 100 });
    const tx = await prepareAndSign(first, channel, transferOp(payer.publicKey(), payee.publicKey(), 4n * USDC, [entry]));
    const sent = await first.rpc.sendTransaction(tx);
    await first.localnet.closeLedger();
    const ledger = first.localnet.latestLedger();
    const channelXlm = first.localnet.xlmBalance(channel.publicKey());
    await first.close();
    // Written with temp file + rename: nothing but the state file is left behind.
    expect(readdirSync(join(dir, 'nested'))).toEqual(['localnet.json']);

    const second = await startLocalnet({ statePath });
    try {
      expect(second.localnet.latestLedger()).toBe(ledger);
      expect(second.localnet.usdcBalance(payer.publicKey())).toBe(6n * USDC);
      expect(second.localnet.usdcBalance(payee.publicKey())).toBe(4n * USDC);
      expect(second.localnet.xlmBalance(channel.publicKey())).toBe(channelXlm);
      const got = await second.rpc.getTransaction(sent.hash);
      expect(got.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
      expect((await second.rpc.getAccount(channel.publicKey())).sequenceNumber()).toBe(tx.sequence);

      // The nonce spent before the restart is still spent.
      const replay = await second.rpc.simulateTransaction(await buildTx(second, channel.publicKey(), transferOp(payer.publicKey(), payee.publicKey(), 4n * USDC, [entry])));
      expect(rpc.Api.isSimulationError(replay) && replay.error).toContain('auth_nonce_reused');
    } finally {
      await second.close();
    }
  });

  it('forgets transactions older than the history window, in memory and in the state file, as soroban-rpc does', async () => {
    let nowMs = Date.now();
    const opts = { statePath, historySeconds: 60, startedAtMs: () => nowMs };
    const first = await startLocalnet(opts);
    const payer = fundedAccount(first.localnet, 10n * USDC);
    const payee = fundedAccount(first.localnet);
    const channel = fundedAccount(first.localnet);
    const entry = await signedPayerAuth(first, payer, payee.publicKey(), 1n * USDC, { channel: channel.publicKey(), expiration: first.localnet.latestLedger() + 100 });
    const sent = await first.rpc.sendTransaction(await prepareAndSign(first, channel, transferOp(payer.publicKey(), payee.publicKey(), 1n * USDC, [entry])));
    await first.localnet.closeLedger();
    const landed = await first.rpc.getTransaction(sent.hash);
    expect(landed.status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);
    const landedLedger = (landed as rpc.Api.GetSuccessfulTransactionResponse).ledger;

    nowMs += 59_000; // still inside the window
    await first.localnet.closeLedger();
    expect((await first.rpc.getTransaction(sent.hash)).status).toBe(rpc.Api.GetTransactionStatus.SUCCESS);

    nowMs += 2_000; // now past it
    await first.localnet.closeLedger();
    const gone = await first.rpc.getTransaction(sent.hash);
    expect(gone.status).toBe(rpc.Api.GetTransactionStatus.NOT_FOUND);
    expect(gone.oldestLedger).toBeGreaterThan(landedLedger);
    expect(readFileSync(statePath, 'utf8')).not.toContain(sent.hash);
    // The money it moved stays moved.
    expect(first.localnet.usdcBalance(payee.publicKey())).toBe(1n * USDC);
    await first.close();

    const second = await startLocalnet(opts);
    try {
      const afterRestart = await second.rpc.getTransaction(sent.hash);
      expect(afterRestart.status).toBe(rpc.Api.GetTransactionStatus.NOT_FOUND);
      expect(afterRestart.oldestLedger).toBe(gone.oldestLedger);
    } finally {
      await second.close();
    }
  });

  it('refuses to start from a corrupt state file instead of silently starting empty', () => {
    writeFileSync(statePath.replace('nested/', ''), '{"version": 1, "accounts": ');
    expect(() => createLocalnet({ ledgerMs: 'manual', statePath: statePath.replace('nested/', '') })).toThrow();
  });

  it('persists friendbot funding immediately, before any ledger closes', async () => {
    const first = await startLocalnet({ statePath });
    const kp = Keypair.random();
    first.localnet.mintUsdc(kp.publicKey(), 3n * USDC);
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { usdc: Record<string, { balance: string }> };
    expect(saved.usdc[kp.publicKey()]?.balance).toBe((3n * USDC).toString());
    await first.close();
  });
});

describe('localnet state file and network', () => {
  it('remembers the network it was written for and refuses to load as another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localnet-state-'));
    try {
      const statePath = join(dir, 'localnet.json');
      const pubnet = createLocalnet({ ledgerMs: 'manual', statePath, network: localnetNetwork('stellar:pubnet') });
      pubnet.fundXlm(Keypair.random().publicKey());
      await pubnet.stop();
      expect(() => createLocalnet({ ledgerMs: 'manual', statePath })).toThrow(/holds a stellar:pubnet ledger, not stellar:testnet/);
      expect(createLocalnet({ ledgerMs: 'manual', statePath, network: localnetNetwork('stellar:pubnet') }).latestLedger()).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
