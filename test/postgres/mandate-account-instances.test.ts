import { Keypair, xdr } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signApproveEntry } from '../../src/client/mandate-approval.js';
import { oneInstanceAtATime } from '../../src/db/leases.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { LOCALNET_USDC_CONTRACT } from '../../src/localnet/constants.js';
import { createLocalnet, serveLocalnet, type Localnet, type LocalnetServer } from '../../src/localnet/index.js';
import { NETWORK_PASSPHRASES } from '../../src/protocol/networks.js';
import { MandateAccount } from '../../src/stellar/mandate-account.js';
import { SorobanRpc } from '../../src/stellar/rpc.js';
import { openTestPostgres } from '../helpers/store.js';

const PASSPHRASE = NETWORK_PASSPHRASES['stellar:testnet'];
const USDC = 10_000_000n;

/**
 * Several card402 instances on one PostgreSQL database send from the same mandate account: each
 * builds its transaction from the account's sequence number, so two built at once would carry the
 * same one and the second would be refused. Here three MandateAccount objects, each with its own
 * store (its own pool) as wiring.ts builds them, send purchases at once against the local ledger.
 */
describe('the mandate account shared by several instances', () => {
  let ledger: Localnet;
  let server: LocalnetServer;
  const dbs: Db[] = [];
  const mandate = Keypair.random();
  const owner = Keypair.random();
  const treasury = Keypair.random().publicKey();

  beforeAll(async () => {
    ledger = createLocalnet({ ledgerMs: 150 });
    server = await serveLocalnet(ledger, { port: 0, host: '127.0.0.1' });
    ledger.start();
    ledger.fundXlm(mandate.publicKey());
    ledger.mintUsdc(owner.publicKey(), 100n * USDC);
    ledger.mintUsdc(treasury, 1n);
    const store = openTestPostgres();
    dbs.push(store.db, store.reopen(), store.reopen());
    await migrateToLatest(dbs[0]!);
  });
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.destroy()));
    await ledger.stop();
    await server.close();
  });

  const account = (db: Db) =>
    new MandateAccount({
      rpc: new SorobanRpc(server.rpcUrl),
      keypair: mandate,
      networkPassphrase: PASSPHRASE,
      asset: LOCALNET_USDC_CONTRACT,
      maxFeeStroops: 10_000_000n,
      acrossInstances: oneInstanceAtATime(db, 'mandate-account')!,
    });

  /** Build, send and wait for the transaction to land, as a purchase does inside `exclusive`. */
  async function sendAndLand(from: MandateAccount, built: { txHash: string; envelopeXdr: string }): Promise<string> {
    const sent = await from.send(built.envelopeXdr);
    if (sent.status === 'ERROR' || sent.status === 'TRY_AGAIN_LATER') return `refused:${sent.errorResultCode ?? sent.status}`;
    for (;;) {
      const found = await from.lookup(built.txHash);
      if (found.status !== 'NOT_FOUND') return found.status;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('sends one transaction at a time across instances: every purchase lands, none is refused for its sequence number', async () => {
    const instances = dbs.map(account);
    // The owner's approve, sent through one instance.
    const liveUntil = ledger.latestLedger() + 1_000;
    const terms = { contract: LOCALNET_USDC_CONTRACT, from: owner.publicKey(), spender: mandate.publicKey(), amountAtomic: 50n * USDC, liveUntilLedger: liveUntil };
    const entry = xdr.SorobanAuthorizationEntry.fromXDR(await signApproveEntry(terms, owner, liveUntil, PASSPHRASE), 'base64');
    const approved = await instances[0]!.exclusive(async () =>
      sendAndLand(instances[0]!, await instances[0]!.buildApprove({ owner: owner.publicKey(), amount: 50n * USDC, liveUntilLedger: liveUntil, authEntry: entry })),
    );
    expect(approved).toBe('SUCCESS');

    // Nine purchases of 1 USDC, three on each instance, all at once.
    const outcomes = await Promise.all(
      Array.from({ length: 9 }, (_, i) => {
        const from = instances[i % 3]!;
        return from.exclusive(async () => sendAndLand(from, await from.buildTransferFrom(owner.publicKey(), treasury, USDC)));
      }),
    );
    expect(outcomes).toEqual(Array(9).fill('SUCCESS'));
    expect(ledger.usdcBalance(treasury)).toBe(9n * USDC + 1n);
    expect(ledger.usdcBalance(owner.publicKey())).toBe(91n * USDC);
  });
});
