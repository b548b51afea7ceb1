import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Keypair } from '@stellar/stellar-sdk';
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http';
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import { ExactStellarScheme } from '@x402/stellar/exact/server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCALNET_USDC_CONTRACT, serveLocalnet, type LocalnetServer } from '../../src/localnet/index.js';
import { makeTestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { listen } from '../helpers/listen.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

const run = promisify(execFile);
const PRICE_ATOMIC = 1_2345670n;

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

/**
 * Someone else's x402 resource server, built only from the official packages: @x402/core's
 * x402ResourceServer with an HTTPFacilitatorClient pointed at card402's /facilitator, selling one GET.
 */
async function officialResourceServer(facilitatorUrl: string, apiKey: string, payTo: string) {
  const auth = { Authorization: `Bearer ${apiKey}` };
  const facilitator = new HTTPFacilitatorClient({ url: facilitatorUrl, createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }) });
  const server = new x402ResourceServer(facilitator).register('stellar:testnet', new ExactStellarScheme());
  await server.initialize();
  const requirements = await server.buildPaymentRequirements({
    scheme: 'exact',
    network: 'stellar:testnet',
    payTo,
    price: { amount: PRICE_ATOMIC.toString(), asset: LOCALNET_USDC_CONTRACT },
    maxTimeoutSeconds: 60,
  });
  const seenHeaders: string[] = [];
  const app = new Hono();
  app.get('/weather', async (c) => {
    const header = c.req.header('PAYMENT-SIGNATURE');
    const refuse = async (error: string) => {
      const required = await server.createPaymentRequiredResponse(requirements, { url: c.req.url, description: 'weather', mimeType: 'application/json' }, error);
      return c.json(required, 402, { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(required) });
    };
    if (!header) return refuse('payment required');
    seenHeaders.push(header);
    const payload = decodePaymentSignatureHeader(header);
    const matched = server.findMatchingRequirements(requirements, payload);
    if (!matched) return refuse('no matching requirements');
    const verified = await server.verifyPayment(payload, matched);
    if (!verified.isValid) return refuse(verified.invalidReason ?? 'invalid');
    const settled = await server.settlePayment(payload, matched).catch((err: unknown) => ({ success: false as const, errorReason: String(err) }));
    if (!settled.success) return refuse(settled.errorReason ?? 'settlement failed');
    return c.json({ forecast: 'sunny' }, 200, { 'PAYMENT-RESPONSE': encodePaymentResponseHeader(settled) });
  });
  return { app, seenHeaders };
}

describe('card402 serves its facilitator to other x402 servers under /facilitator', () => {
  const apiKey = randomBytes(24).toString('base64url');
  let h: PaidHarness;
  let dir: string;
  let certPath: string;
  let tls: LocalnetServer;

  beforeAll(async () => {
    h = await makePaidHarness({ ledgerMs: 200, env: { FACILITATOR_SERVE: 'true', FACILITATOR_API_KEYS: `${randomBytes(24).toString('hex')},${apiKey}` } });
    dir = mkdtempSync(join(tmpdir(), 'card402-fac-tls-'));
    const made = selfSignedCert(dir);
    certPath = made.certPath;
    tls = await serveLocalnet(h.localnet, { port: 0, tls: { cert: made.cert, key: made.key, port: 0 } });
  });
  afterAll(async () => {
    await tls?.close();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /supported lists the kind, the extensions and our accounts (channels, and the treasury no payment may name) as signers', async () => {
    const res = await fetch(`${h.baseUrl}/facilitator/supported`, { headers: { Authorization: `Bearer ${apiKey}` } });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.kinds).toEqual([{ x402Version: 2, scheme: 'exact', network: 'stellar:testnet', extra: { areFeesSponsored: true } }]);
    expect(body.extensions).toEqual([]);
    expect([...body.signers['stellar:*']].sort()).toEqual([...h.keys.channels.map((k) => k.publicKey()), h.keys.treasury.publicKey()].sort());
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${randomBytes(24).toString('base64url')}`],
    ['a prefix of the right token', `Bearer ${apiKey.slice(0, -1)}`],
    ['the right token in another scheme', `Basic ${apiKey}`],
  ])('refuses %s with 401 and never logs the token', async (_name, authorization) => {
    for (const path of ['/facilitator/supported', '/facilitator/verify', '/facilitator/settle']) {
      const res = await fetch(h.baseUrl + path, {
        method: path.endsWith('supported') ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
        ...(path.endsWith('supported') ? {} : { body: '{}' }),
      });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect((await bodyOf(res)).code).toBe('UNAUTHORIZED');
    }
    expect(h.logs.join('\n')).not.toContain(apiKey.slice(0, 12));
  });

  it("the official resource server settles through it: the official client pays, the payee is paid exactly once, a replay is refused", async () => {
    const payee = Keypair.random();
    h.localnet.mintUsdc(payee.publicKey(), 0n);
    const payer = h.agent(20n * USDC);
    const resource = await officialResourceServer(`${h.baseUrl}/facilitator`, apiKey, payee.publicKey());
    const resourceUrl = await listen(resource.app);

    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'official-pay.child.ts')], {
      cwd: join(import.meta.dirname, '../..'),
      timeout: 90_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath, X402_RESOURCE_URL: `${resourceUrl}/weather`, X402_RPC_URL: tls.httpsRpcUrl!, X402_PAYER_SECRET: payer.secret() },
    });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(out.status, out.body).toBe(200);
    expect(JSON.parse(out.body)).toEqual({ forecast: 'sunny' });
    expect(out.settlement).toMatchObject({ success: true, payer: payer.publicKey(), network: 'stellar:testnet' });
    expect((await h.stack.rpc.transaction(out.settlement.transaction)).status).toBe('SUCCESS');
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(PRICE_ATOMIC);
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(20n * USDC - PRICE_ATOMIC);
    // Our own treasury was not touched: the payment went to the other server's payee.
    expect(resource.seenHeaders).toHaveLength(1);

    // The same PAYMENT-SIGNATURE again, at the resource server and straight at /facilitator/settle.
    const replay = await fetch(`${resourceUrl}/weather`, { headers: { 'PAYMENT-SIGNATURE': resource.seenHeaders[0]! } });
    expect(replay.status).toBe(402);
    const payload = decodePaymentSignatureHeader(resource.seenHeaders[0]!);
    const settleAgain = await fetch(`${h.baseUrl}/facilitator/settle`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ x402Version: 2, paymentPayload: payload, paymentRequirements: payload.accepted }),
    });
    const settleBody = await bodyOf(settleAgain);
    expect(settleBody.success, JSON.stringify(settleBody)).toBe(false);
    await h.localnet.closeLedger();
    expect(h.localnet.usdcBalance(payee.publicKey())).toBe(PRICE_ATOMIC);
    expect(h.localnet.usdcBalance(payer.publicKey())).toBe(20n * USDC - PRICE_ATOMIC);
  }, 120_000);
});

describe('the facilitator API is off by default', () => {
  it('answers 404 under /facilitator when FACILITATOR_SERVE is unset', async () => {
    const { app } = await makeTestApp();
    for (const path of ['/facilitator/supported', '/facilitator/verify']) {
      const res = await app.request(path, path.endsWith('verify') ? { method: 'POST', body: '{}' } : {});
      expect(res.status, path).toBe(404);
    }
  });

  it('refuses to start with FACILITATOR_SERVE=true and an external FACILITATOR_URL', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(() => loadConfig({ FACILITATOR_SERVE: 'true', FACILITATOR_URL: 'https://fac.example.com' })).toThrow(/FACILITATOR_SERVE/);
  });
});

describe('npm start serves it when configured', () => {
  it('startCard402 with FACILITATOR_SERVE=true answers /facilitator/supported with its channel pool', async () => {
    const { bootServer } = await import('../helpers/server.js');
    const server = await bootServer({ FACILITATOR_SERVE: 'true', CHANNEL_COUNT: '3' });
    try {
      const res = await fetch(`${server.apiUrl}/facilitator/supported`);
      const body = await bodyOf(res);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.signers['stellar:*']).toHaveLength(4);
    } finally {
      await server.close();
    }
  });
});
