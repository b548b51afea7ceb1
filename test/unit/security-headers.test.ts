import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { describe, expect, it } from 'vitest';
import { SECURITY_HEADERS, securityHeaders } from '../../src/http/kernel/security-headers.js';

function headersOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of res.headers) if (name !== 'content-type') out[name] = value;
  return out;
}

describe('securityHeaders', () => {
  it("sets exactly hono's hardened secureHeaders() (our CSP and CORP) plus Cache-Control: no-store", async () => {
    const reference = new Hono();
    reference.use('*', secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }, crossOriginResourcePolicy: 'same-origin' }));
    reference.get('/', (c) => c.json({}));
    const ours = new Hono();
    ours.use('*', securityHeaders());
    ours.get('/', (c) => c.json({}));

    const expected = { ...headersOf(await reference.request('/')), 'cache-control': 'no-store' };
    expect(headersOf(await ours.request('/'))).toEqual(expected);
    expect(SECURITY_HEADERS.length).toBe(Object.keys(expected).length);
  });

  it('reaches error and not-found responses built through the context', async () => {
    const app = new Hono();
    app.use('*', securityHeaders());
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.onError((_err, c) => c.json({ error: 'internal' }, 500));
    app.notFound((c) => c.json({ error: 'not found' }, 404));
    for (const path of ['/boom', '/nowhere']) {
      const res = await app.request(path);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });
});
