import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardBalanceCents } from '../../src/cards/repository.js';
import { serveLocalnet, type LocalnetServer } from '../../src/localnet/index.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

const run = promisify(execFile);

/** A throwaway self-signed certificate for 127.0.0.1, made by openssl (as the localnet tests do). */
function selfSignedCert(dir: string): { certPath: string; cert: Buffer; key: Buffer } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { certPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

describe('the unmodified official x402 client (@x402/fetch 2.19 + @x402/stellar 2.9) buys and funds a card', () => {
  let h: PaidHarness;
  let dir: string;
  let certPath: string;
  let tls: LocalnetServer;

  beforeAll(async () => {
    h = await makePaidHarness({ ledgerMs: 200 });
    dir = mkdtempSync(join(tmpdir(), 'card402-tls-'));
    const made = selfSignedCert(dir);
    certPath = made.certPath;
    // The same ledger, also served over HTTPS: the official client refuses plain-http RPC URLs.
    tls = await serveLocalnet(h.localnet, { port: 0, tls: { cert: made.cert, key: made.key, port: 0 } });
  });

  afterAll(async () => {
    await tls?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pays exactly the price for each call, settled by our facilitator, over real HTTP(S)', async () => {
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(500n * USDC);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'official-client.child.ts')], {
      cwd: join(import.meta.dirname, '../..'),
      timeout: 90_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath, CARD402_URL: h.baseUrl, X402_RPC_URL: tls.httpsRpcUrl!, X402_PAYER_SECRET: agent.secret() },
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(out.created.status, JSON.stringify(out.created.body)).toBe(201);
    expect(out.created.settlement).toMatchObject({ success: true, payer: agent.publicKey(), network: 'stellar:testnet' });
    expect(out.created.body.card.balance).toBe(100);
    expect(out.funded.status, JSON.stringify(out.funded.body)).toBe(200);
    expect(out.funded.body).toMatchObject({ fundedAmount: 50, newBalance: 150 });

    // create 100 → 113.50, fund 50 → 51.75: exactly that moved on the ledger.
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(500n * USDC - 113_5000000n - 51_7500000n);
    expect(h.localnet.usdcBalance(h.keys.treasury.publicKey())).toBe(treasury + 113_5000000n + 51_7500000n);
    expect(await cardBalanceCents(h.db, out.created.body.card.cardId)).toBe(15_000);
    await expectNothingLost(h, treasury);
  }, 120_000);
});
