import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/http/kernel/errors.js';
import { buildOpenApiDocument, openApiPath, registeredEndpoints, type OpenApiDocument } from '../../src/http/openapi/document.js';
import { makeTestApp } from '../helpers/app.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, type PaidHarness } from '../helpers/paid.js';

/** Every operation in the document as "METHOD /path/{param}". */
function documented(doc: OpenApiDocument): Set<string> {
  return new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
}

describe('GET /openapi.json', () => {
  let h: PaidHarness;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    // Every optional surface on, so every route there is gets registered.
    h = await makePaidHarness({ env: { FACILITATOR_SERVE: 'true', METRICS_SERVE: 'true' } });
    const res = await fetch(`${h.baseUrl}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  });
  afterAll(() => h?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('describes every route the app has registered', () => {
    const endpoints = registeredEndpoints(h.app);
    expect(endpoints.length).toBeGreaterThan(15);
    const missing = endpoints.map((e) => `${e.method} ${openApiPath(e.path)}`).filter((key) => !documented(doc).has(key));
    expect(missing, 'add describeRoute({...}) as the first handler of these routes (src/http/openapi/route-doc.ts)').toEqual([]);
  });

  it('also describes the routes only some configurations serve (sandbox card network, issuer endpoint)', async () => {
    const { app } = await makeTestApp({ sandboxCardNetwork: true, env: { ISSUER_AUTH_SECRET: 'issuer-secret-0123456789abcdefghijklmnop' } });
    const fresh = buildOpenApiDocument(app, { version: 't', serverUrl: 'http://t' });
    const endpoints = registeredEndpoints(app);
    expect(endpoints.map((e) => e.path)).toEqual(expect.arrayContaining(['/sandbox/authorizations', '/issuer/authorizations']));
    expect(endpoints.filter((e) => !documented(fresh).has(`${e.method} ${openApiPath(e.path)}`))).toEqual([]);
  });

  it('the check fails for a route registered without a description', async () => {
    const { app } = await makeTestApp();
    app.get('/undocumented/:thing', (c) => c.text('x'));
    const fresh = buildOpenApiDocument(app, { version: 't', serverUrl: 'http://t' });
    const missing = registeredEndpoints(app).filter((e) => !documented(fresh).has(`${e.method} ${openApiPath(e.path)}`));
    expect(missing).toEqual([{ method: 'GET', path: '/undocumented/:thing' }]);
  });

  it('documents every error code with its status', () => {
    const schemas = doc.components.schemas as Record<string, { enum?: string[]; description?: string }>;
    expect(schemas.ErrorCode!.enum).toEqual([...ERROR_CODES]);
    for (const code of ERROR_CODES) expect(schemas.ErrorCode!.description).toMatch(new RegExp(`${code}: HTTP \\d{3}`));
    // Each operation's error responses name only real codes.
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops) as Array<{ responses: Record<string, any> }>) {
        for (const r of Object.values(op.responses)) {
          const codes: string[] | undefined = r.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code?.enum;
          for (const code of codes ?? []) expect(ERROR_CODES).toContain(code);
        }
      }
    }
  });

  it('the paid card creation: body schema, x402 headers, the 402 challenge and the settlement header', () => {
    const op = doc.paths['/cards/create/tier/{amount}']!.post as any;
    expect(op.summary).toBe('Create a virtual card');
    expect(op.requestBody.content['application/json'].schema.required).toEqual(['nameOnCard', 'email']);
    const headers = op.parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name);
    expect(headers).toEqual(expect.arrayContaining(['PAYMENT-SIGNATURE', 'X-PAYMENT', 'Idempotency-Key']));
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'amount', in: 'path', required: true }));
    expect(op.responses['402'].headers['PAYMENT-REQUIRED']).toBeDefined();
    expect(op.responses['402'].content['application/json'].schema.properties.accepts).toBeDefined();
    expect(op.responses['201'].headers['PAYMENT-RESPONSE']).toBeDefined();
    expect(op.responses['201'].content['application/json'].schema.properties.card).toBeDefined();
    expect(op.responses['503'].description).toContain('SERVICE_UNAVAILABLE');
  });

  it('wallet-signed routes: the wallet headers as security, the details nonce header, their refusals', () => {
    const details = doc.paths['/cards/{cardId}/details']!.get as any;
    expect(details.security).toEqual([{ walletAddress: [], walletSignature: [], walletTimestamp: [] }]);
    expect(details.parameters).toContainEqual(expect.objectContaining({ name: 'X-AGENT-NONCE', in: 'header', required: true }));
    expect(details.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['X-WALLET-NONCE', 'X-WALLET-AUTH-VERSION', 'X-WALLET-AUTH-MODE']));
    expect(details.responses['401'].description).toContain('AUTH_SIGNATURE_INVALID');
    expect(details.responses['409'].description).toContain('REPLAY_REJECTED');
    expect(details.responses['429'].headers['Retry-After']).toBeDefined();
    const schemes = doc.components.securitySchemes as Record<string, { name?: string }>;
    expect([schemes.walletAddress!.name, schemes.walletSignature!.name, schemes.walletTimestamp!.name]).toEqual(['X-WALLET-ADDRESS', 'X-WALLET-SIGNATURE', 'X-WALLET-TIMESTAMP']);
    expect(doc.paths['/facilitator/settle']!.post).toBeDefined();
  });
});

describe('GET /docs', () => {
  it('renders the API reference in headless Chromium from our own assets, and shows card creation', async () => {
    const h = await makePaidHarness();
    try {
      const baseUrl = h.baseUrl;
      const page = await openPage(await launchBrowser());
      const outside: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith(baseUrl) && !req.url().startsWith('data:')) outside.push(req.url());
      });
      const res = await page.goto(`${baseUrl}/docs`);
      expect(res?.status()).toBe(200);
      const operation = page.locator('.opblock-summary-path', { hasText: '/cards/create/tier/{amount}' });
      await operation.first().waitFor({ state: 'visible', timeout: 30_000 });
      await operation.first().click();
      await page.getByText('PAYMENT-SIGNATURE').first().waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.getByText('Create a virtual card').count()).toBeGreaterThan(0);
      expect(outside, 'the page loaded something from elsewhere').toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('serves only the assets it knows', async () => {
    const h = await makePaidHarness();
    try {
      const missing = await fetch(`${h.baseUrl}/docs/assets/package.json`);
      expect(missing.status).toBe(404);
      expect((await bodyOf(missing)).code).toBe('NOT_FOUND');
      const js = await fetch(`${h.baseUrl}/docs/assets/swagger-ui-bundle.js`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
    } finally {
      await h.close();
    }
  });
});
