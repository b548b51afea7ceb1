import { describe, expect, it } from 'vitest';
import { bodyOf } from '../helpers/http.js';
import { z } from 'zod';
import { AppError } from '../../src/http/kernel/errors.js';
import { readJsonBody } from '../../src/http/kernel/json-body.js';
import { makeTestApp } from '../helpers/app.js';

/** A test app with two extra routes: one that validates JSON, one that fails unexpectedly. */
async function appWithProbeRoutes(env: Record<string, string> = {}) {
  const t = await makeTestApp({ env });
  t.app.post('/probe/json', async (c) => {
    const body = await readJsonBody(c, z.object({ name: z.string().min(1) }));
    return c.json({ got: body.name });
  });
  t.app.get('/probe/boom', () => {
    throw new Error('database password is hunter2 at /srv/secret/path');
  });
  t.app.get('/probe/teapot', () => {
    throw new AppError('RATE_LIMITED', 'slow down', { headers: { 'Retry-After': '7' }, extra: { retryAfter: 7 } });
  });
  return t;
}

const post = (body: string) => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } });

describe('error model', () => {
  it('unknown routes are 404 JSON', async () => {
    const t = await makeTestApp();
    const res = await t.app.request('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ error: 'no route for GET /no/such/route', code: 'NOT_FOUND' });
  });

  it.each([
    ['POST', '/pricing', 'GET'],
    ['DELETE', '/cards', 'GET'],
    ['PUT', '/cards/6f1c5b2e-8a2b-4c1d-9e0f-123456789abc/freeze', 'POST'],
    ['GET', '/cards/6f1c5b2e-8a2b-4c1d-9e0f-123456789abc/revoke-details', 'POST'],
  ])('%s %s on a known path is 405 JSON with Allow: %s', async (method, path, allow) => {
    const t = await makeTestApp();
    const res = await t.app.request(path, { method });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(body.code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('paths that only look like routes stay 404 (a trailing slash does not make one: public.test.ts)', async () => {
    const t = await makeTestApp();
    for (const path of ['/pricing/x', '/cards/a/b/c/d', '/cardsx']) {
      const res = await t.app.request(path, { method: 'DELETE' });
      expect(res.status, path).toBe(404);
    }
  });

  it('malformed JSON is 400 INVALID_JSON', async () => {
    const t = await appWithProbeRoutes();
    const res = await t.app.request('/probe/json', post('{"name": '));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'request body is not valid JSON', code: 'INVALID_JSON' });
  });

  it('a body that fails the schema is 400 VALIDATION_ERROR naming the field', async () => {
    const t = await appWithProbeRoutes();
    const res = await t.app.request('/probe/json', post('{"name": 42}'));
    const body = await bodyOf(res);
    expect(res.status).toBe(400);
    expect(body.code).toBe('VALIDATION_ERROR');
    expect(body.error).toContain('name');
  });

  it('a missing body is 400, valid JSON passes', async () => {
    const t = await appWithProbeRoutes();
    expect((await t.app.request('/probe/json', { method: 'POST' })).status).toBe(400);
    const ok = await t.app.request('/probe/json', post('{"name":"Ada"}'));
    expect(await ok.json()).toEqual({ got: 'Ada' });
  });

  it('an oversized body is 413 PAYLOAD_TOO_LARGE', async () => {
    const t = await appWithProbeRoutes({ BODY_LIMIT_BYTES: '100' });
    const res = await t.app.request('/probe/json', post(JSON.stringify({ name: 'x'.repeat(200) })));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('unexpected errors are a bare 500: no message, stack or path leaks', async () => {
    const t = await appWithProbeRoutes();
    const res = await t.app.request('/probe/boom');
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toMatchObject({ error: 'internal server error', code: 'INTERNAL_ERROR' });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('/srv/secret');
    expect(text).not.toMatch(/at .*\.ts/);
  });

  it('AppError headers and extra fields reach the response', async () => {
    const t = await appWithProbeRoutes();
    const res = await t.app.request('/probe/teapot');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ error: 'slow down', code: 'RATE_LIMITED', retryAfter: 7 });
  });
});
