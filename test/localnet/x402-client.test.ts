import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Operation, Transaction, TransactionBuilder, rpc, xdr } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT, createLocalnet, serveLocalnet, type Localnet, type LocalnetServer } from '../../src/localnet/index.js';
import { USDC, fundedAccount } from './helpers.js';

const run = promisify(execFile);

describe('the official @x402/stellar client against the localnet over HTTPS', () => {
  let dir: string;
  let certPath: string;
  let localnet: Localnet;
  let server: LocalnetServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'localnet-tls-'));
    certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyPath, '-out', certPath,
    ], { stdio: 'ignore' });
    localnet = createLocalnet({ ledgerMs: 'manual' });
    server = await serveLocalnet(localnet, { port: 0, tls: { cert: readFileSync(certPath), key: readFileSync(keyPath), port: 0 } });
  });

  afterAll(async () => {
    await server?.close();
    await localnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a payment payload with the unmodified client, and a facilitator-style rebuild settles it exactly', async () => {
    expect(server.httpsRpcUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/soroban\/rpc$/);
    const payer = fundedAccount(localnet, 50n * USDC);
    const payTo = fundedAccount(localnet);
    const channel = fundedAccount(localnet);
    const amount = 12n * USDC + 3_456n;

    // A child process gets the CA through NODE_EXTRA_CA_CERTS (read once at start-up): no global TLS
    // setting of this test process changes, and nothing turns certificate checking off.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'x402-client.child.ts')], {
      cwd: join(import.meta.dirname, '../..'),
      timeout: 60_000,
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: certPath,
        X402_RPC_URL: server.httpsRpcUrl!,
        X402_PAYER_SECRET: payer.secret(),
        X402_FACILITATOR_SECRET: channel.secret(),
        X402_PAY_TO: payTo.publicKey(),
        X402_AMOUNT: amount.toString(),
        X402_ASSET: LOCALNET_USDC_CONTRACT,
      },
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { payload: { transaction: string }; verify: { isValid: boolean; invalidReason?: string; payer?: string } };
    // The official facilitator's verify re-simulates and checks the transfer event, auth and fees.
    expect(out.verify, JSON.stringify(out.verify)).toEqual({ isValid: true, payer: payer.publicKey() });

    const clientTx = new Transaction(out.payload.transaction, LOCALNET_PASSPHRASE);
    const op = clientTx.operations[0] as Operation.InvokeHostFunction;
    expect(op.type).toBe('invokeHostFunction');
    expect(op.auth?.[0]?.credentials().switch().name).toBe('sorobanCredentialsAddress');

    const h = new rpc.Server(server.rpcUrl, { allowHttp: true });
    const rebuilt = new TransactionBuilder(await h.getAccount(channel.publicKey()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
      .addOperation(Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [] }))
      .setTimeout(60)
      .build();
    const prepared = await h.prepareTransaction(rebuilt);
    prepared.sign(channel);
    const sent = await h.sendTransaction(prepared);
    expect(sent.status, JSON.stringify(sent)).toBe('PENDING');
    await localnet.closeLedger();
    const got = await h.pollTransaction(sent.hash, { attempts: 2 });
    expect(got.status).toBe('SUCCESS');
    expect(localnet.usdcBalance(payer.publicKey())).toBe(50n * USDC - amount);
    expect(localnet.usdcBalance(payTo.publicKey())).toBe(amount);

    // The same payload cannot settle twice: its nonce is spent.
    const again = new TransactionBuilder(await h.getAccount(channel.publicKey()), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
      .addOperation(Operation.invokeHostFunction({ func: op.func, auth: op.auth ?? [] }))
      .setTimeout(60)
      .build();
    const sim = await h.simulateTransaction(again);
    expect(rpc.Api.isSimulationError(sim) && sim.error).toContain('auth_nonce_reused');
    expect(xdr.TransactionEnvelope.fromXDR(out.payload.transaction, 'base64').switch().name).toBe('envelopeTypeTx');
  }, 90_000);

  it('is really checking the certificate: without the CA the same child cannot reach the ledger', async () => {
    const payer = fundedAccount(localnet, 1n * USDC);
    const { NODE_EXTRA_CA_CERTS: _dropped, ...withoutCa } = process.env;
    const attempt = run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'x402-client.child.ts')], {
      cwd: join(import.meta.dirname, '../..'),
      timeout: 60_000,
      env: {
        ...withoutCa,
        X402_RPC_URL: server.httpsRpcUrl!,
        X402_PAYER_SECRET: payer.secret(),
        X402_FACILITATOR_SECRET: fundedAccount(localnet).secret(),
        X402_PAY_TO: fundedAccount(localnet).publicKey(),
        X402_AMOUNT: '1',
        X402_ASSET: LOCALNET_USDC_CONTRACT,
      },
    });
    await expect(attempt).rejects.toThrow(/self[- ]signed|certificate/i);
  }, 90_000);
});
