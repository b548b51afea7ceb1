import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';
import { seedCard, signedRequest, v2 } from '../helpers/wallet.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of one sample line, e.g. sample(text, 'card402_refunds_total{outcome="sent"}'); 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(fetchLike: (path: string, init?: RequestInit) => Promise<Response> | Response): Promise<string> {
  const res = await fetchLike('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics', () => {
  it('is not served by default', async () => {
    const { app } = await makeTestApp();
    expect((await app.request('/metrics')).status).toBe(404);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { Authorization: 'Bearer metrics-token-0123456789abcdeX' }],
  ])('refuses %s with 401 when METRICS_TOKEN is set', async (_name, headers) => {
    const { app } = await makeTestApp({ env: { METRICS_SERVE: 'true', METRICS_TOKEN: TOKEN } });
    const res = await app.request('/metrics', { headers });
    expect(res.status).toBe(401);
    expect((await bodyOf(res)).code).toBe('UNAUTHORIZED');
  });

  it('is open when served without a token', async () => {
    const { app } = await makeTestApp({ env: { METRICS_SERVE: 'true' } });
    expect((await app.request('/metrics')).status).toBe(200);
  });
});

describe('what the metrics count', () => {
  let t: TestApp;
  const req = (path: string, init?: RequestInit) => t.app.request(path, init);

  it('requests by route template and status, details reads and refusals by reason, failed wallet auth; no card id or wallet in any label', async () => {
    t = await makeTestApp({ env: { METRICS_SERVE: 'true', METRICS_TOKEN: TOKEN } });
    const agent = Keypair.random();
    const stranger = Keypair.random();
    const { cardId } = await seedCard(t, { agent, loadCents: 5_000 });

    expect((await signedRequest(t, agent, 'GET', `/cards/${cardId}`)).status).toBe(200);
    expect((await signedRequest(t, agent, 'GET', `/cards/${randomUUID()}`)).status).toBe(404);
    expect((await req('/pricing')).status).toBe(200);
    expect((await req('/no/such/route')).status).toBe(404);
    // Details: granted, a bad nonce, a stranger (not found), a replayed nonce.
    const nonce = randomUUID();
    const details = (kp: Keypair, n: string) => signedRequest(t, kp, 'GET', `/cards/${cardId}/details`, { headers: { 'X-AGENT-NONCE': n } });
    expect((await details(agent, nonce)).status).toBe(200);
    expect((await details(agent, 'not-a-uuid')).status).toBe(400);
    expect((await details(stranger, randomUUID())).status).toBe(404);
    expect((await details(agent, nonce)).status).toBe(409);
    // Wallet auth: a signature by someone else, and an expired timestamp.
    const forged = { ...v2(t, stranger, 'GET', '/cards'), 'X-WALLET-ADDRESS': agent.publicKey() };
    expect((await req('/cards', { headers: forged })).status).toBe(401);
    const expired = v2(t, agent, 'GET', '/cards', { timestamp: Math.floor(t.clock.nowMs() / 1000) - 3600 });
    expect((await req('/cards', { headers: expired })).status).toBe(401);

    const text = await scrape(req);
    expect(sample(text, 'card402_http_requests_total{method="GET",route="/cards/:cardId",status="200"}')).toBe(1);
    expect(sample(text, 'card402_http_requests_total{method="GET",route="/cards/:cardId",status="404"}')).toBe(1);
    expect(sample(text, 'card402_http_requests_total{method="GET",route="/pricing",status="200"}')).toBe(1);
    expect(sample(text, 'card402_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(sample(text, 'card402_http_request_duration_seconds_count{method="GET",route="/cards/:cardId/details",status="200"}')).toBe(1);
    expect(sample(text, 'card402_card_details_reads_total{outcome="granted"}')).toBe(1);
    expect(sample(text, 'card402_card_details_reads_total{outcome="invalid_nonce"}')).toBe(1);
    expect(sample(text, 'card402_card_details_reads_total{outcome="not_found"}')).toBe(1);
    expect(sample(text, 'card402_card_details_reads_total{outcome="replayed"}')).toBe(1);
    expect(sample(text, 'card402_wallet_auth_failures_total{code="AUTH_SIGNATURE_INVALID"}')).toBe(1);
    expect(sample(text, 'card402_wallet_auth_failures_total{code="AUTH_EXPIRED"}')).toBe(1);
    for (const secret of [cardId, agent.publicKey(), stranger.publicKey(), nonce]) expect(text.includes(secret), `the scrape holds ${secret}`).toBe(false);
    // Amounts (the card's load: 5000 cents, $50) are never label values.
    for (const amount of ['"5000"', '"50"', '"50.00"']) expect(text.includes(amount), amount).toBe(false);
  });
});

describe('payment metrics over the local ledger', () => {
  let h: PaidHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const scrapeHttp = (harness: PaidHarness) => scrape((path, init) => fetch(harness.baseUrl + path, init));

  it('payments by kind and status, settlement latency, the channel pool, refunds', async () => {
    h = await makePaidHarness({ env: { METRICS_SERVE: 'true', METRICS_TOKEN: TOKEN, FULFIL_MAX_ATTEMPTS: '2' } });
    const before = await scrapeHttp(h);
    expect(sample(before, 'card402_channels{state="available"}')).toBe(2);
    expect(sample(before, 'card402_channels{state="leased"}')).toBe(0);

    const agent = h.agent(100n * USDC);
    const created = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Metric Card', email: 'm@example.com' });
    expect(created.response.status).toBe(201);
    const cardId = (await bodyOf(created.response)).card.cardId as string;

    // One that cannot be fulfilled: settled, then refunded on-chain.
    h.issuer.failNext('issue', 100);
    const failed = await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'Refund Me', email: 'r@example.com' });
    expect(failed.response.status).toBe(502);
    for (let i = 0; i < 3; i++) await h.stack.service.reconcile();

    const text = await scrapeHttp(h);
    expect(sample(text, 'card402_payments{kind="create",status="fulfilled"}')).toBe(1);
    expect(sample(text, 'card402_payments{kind="create",status="refunded"}')).toBe(1);
    expect(sample(text, 'card402_settlements_total{outcome="success"}')).toBe(2);
    expect(sample(text, 'card402_settlement_duration_seconds_count')).toBe(2);
    expect(sample(text, 'card402_settlement_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'card402_refunds_total{outcome="sent"}')).toBe(1);
    expect(sample(text, 'card402_refunds_total{outcome="landed"}')).toBe(1);
    expect(sample(text, 'card402_channels{state="available"}')).toBe(2);
    expect(sample(text, 'card402_http_requests_total{method="POST",route="/cards/create/tier/:amount",status="402"}')).toBe(2);
    expect(sample(text, 'card402_http_requests_total{method="POST",route="/cards/create/tier/:amount",status="201"}')).toBe(1);
    for (const secret of [cardId, agent.publicKey(), '25', '3588']) expect(text.includes(`"${secret}"`), secret).toBe(false);
  });
});
