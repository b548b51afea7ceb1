import type { ServerType } from '@hono/node-server';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { bodyOf } from '../helpers/http.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';

describe('public endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });

  it('GET /health reports ok, time and version', async () => {
    const res = await t.app.request('/health');
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: 'ok', timestamp: '2026-11-21T12:00:00.000Z', version: expect.any(String) });
  });

  it('GET /health is 503 when the database is gone', async () => {
    const broken = await makeTestApp();
    await broken.db.destroy();
    const res = await broken.app.request('/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'degraded', code: 'SERVICE_UNAVAILABLE' });
  });

  it('GET /pricing has the ASG fields and the same body as /cards/tiers', async () => {
    const pricing = await bodyOf(await t.app.request('/pricing'));
    const tiers = await (await t.app.request('/cards/tiers')).json();
    expect(pricing).toMatchObject({ cardFee: 10, topUpPercent: 3.5, minAmount: 5, maxAmount: 5000, description: expect.any(String) });
    expect(pricing.tiers).toContainEqual(expect.objectContaining({ loadAmount: 100, totalCost: 113.5, totalAtomic: '1135000000' }));
    expect(pricing.topUpExample).toMatchObject({ loadAmount: 200, totalCost: 207 });
    expect(tiers).toEqual(pricing);
  });

  it('a trailing slash names the same route: public reads, and 405 for a method the path does not take', async () => {
    for (const path of ['/health', '/pricing', '/cards/tiers', '/supported']) {
      const plain = await t.app.request(path);
      const slashed = await t.app.request(`${path}/`);
      expect(slashed.status, path).toBe(plain.status);
      expect(await slashed.json(), path).toEqual(await plain.json());
    }
    const wrongMethod = await t.app.request('/cards/', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('Allow')).toBe('GET');
  });

  it('GET /supported lists the exact scheme on the configured network, asset and payTo', async () => {
    const body = await bodyOf(await t.app.request('/supported'));
    expect(body.kinds).toEqual([
      {
        x402Version: 2,
        scheme: 'exact',
        network: 'stellar:testnet',
        asset: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA',
        payTo: t.deps.paymentTerms.payTo,
        maxTimeoutSeconds: 60,
        extra: { areFeesSponsored: true },
      },
    ]);
  });

  it('sets security headers, no-store and a request id', async () => {
    const res = await t.app.request('/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('echoes a well-formed caller request id, replaces a malformed one', async () => {
    const kept = await t.app.request('/health', { headers: { 'X-Request-Id': 'trace-123' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123');
    const replaced = await t.app.request('/health', { headers: { 'X-Request-Id': 'bad id\twith spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('over real HTTP', () => {
  let server: ServerType;
  let base: string;
  beforeAll(async () => {
    const t = await makeTestApp();
    let port: number;
    ({ server, port } = await serveHttp(t.app.fetch, { port: 0, hostname: '127.0.0.1' }));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves /health and /pricing', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const pricing = await bodyOf(await fetch(`${base}/pricing`));
    expect(pricing.cardFee).toBe(10);
  });

  it('answers an oversized body with 413 JSON', async () => {
    const res = await fetch(`${base}/anything`, { method: 'POST', body: 'x'.repeat(70 * 1024), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});
