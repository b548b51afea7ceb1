import http from 'node:http';
import type { ServerType } from '@hono/node-server';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../helpers/app.js';

/** Raw HTTP/1.1 so the framing (Content-Length, chunked, neither) is exactly what we say. */
function send(port: number, opts: { method: string; path: string; headers?: Record<string, string>; chunks?: string[]; holdOpen?: boolean }) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: opts.headers }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body, headers: res.headers });
        if (opts.holdOpen) req.destroy();
      });
    });
    // The server may answer 413 and close before the whole body is written; the answer counts.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    for (const chunk of opts.chunks ?? []) req.write(chunk);
    // Oversized bodies are left unfinished: the server must answer as soon as it knows it is too
    // much (and may close the connection then, which must not race the answer in this test).
    if (opts.holdOpen) {
      req.flushHeaders();
    } else req.end();
  });
}

describe('body limit over real HTTP', () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    const t = await makeTestApp();
    ({ server, port } = await serveHttp(t.app.fetch, { port: 0, hostname: '127.0.0.1' }));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a chunked body (no Content-Length) over the limit is 413, whatever the method', async () => {
    for (const method of ['POST', 'PUT']) {
      const res = await send(port, { method, path: '/pricing', headers: { 'Transfer-Encoding': 'chunked' }, holdOpen: true, chunks: Array.from({ length: 9 }, () => 'x'.repeat(8 * 1024)) });
      expect(res.status, `${method} ${res.body}`).toBe(413);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
  });

  it('a Content-Length over the limit is 413, whatever the method', async () => {
    for (const method of ['POST', 'PUT']) {
      const res = await send(port, { method, path: '/pricing', headers: { 'Content-Length': String(160 * 1024) }, holdOpen: true, chunks: ['x'.repeat(1024)] });
      expect(res.status, `${method} ${res.body}`).toBe(413);
    }
  });

  it('a bodiless GET passes and carries the security headers', async () => {
    const res = await send(port, { method: 'GET', path: '/pricing' });
    expect(res.status, res.body).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
