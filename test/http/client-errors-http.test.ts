import net from 'node:net';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { makeTestApp } from '../helpers/app.js';
import { bootServer } from '../helpers/server.js';

/** Writes raw bytes and reads until the server closes: what Node's parser refuses never reaches hono. */
function raw(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

function parse(response: string) {
  const [head, body] = response.split('\r\n\r\n');
  const [statusLine, ...lines] = head!.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body!) as Record<string, unknown> };
}

describe('requests the HTTP parser refuses get JSON errors too', () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    const t = await makeTestApp();
    // card402's server, with timeouts short enough for a test.
    ({ server, port } = await serveHttp(t.app.fetch, { port: 0, hostname: '127.0.0.1', serverOptions: { headersTimeout: 500, requestTimeout: 800, connectionsCheckingInterval: 100 } }));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('oversized headers: 431 HEADERS_TOO_LARGE', async () => {
    const res = parse(await raw(port, `GET /pricing HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.body).toEqual({ error: 'request headers are too large', code: 'HEADERS_TOO_LARGE' });
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('a broken request line: 400 BAD_REQUEST', async () => {
    const res = parse(await raw(port, 'GET /pri\u00e7ing HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'malformed HTTP request', code: 'BAD_REQUEST' });
  });

  it('a sender too slow to finish its headers: 408 REQUEST_TIMEOUT', async () => {
    const res = parse(await raw(port, 'GET /pricing HTTP/1.1\r\nHost: x\r\n'));
    expect(res.status).toBe(408);
    expect(res.body).toEqual({ error: 'the request was not received in time', code: 'REQUEST_TIMEOUT' });
  });

  it('a well-formed request on the same server is still served', async () => {
    const res = await raw(port, 'GET /pricing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.startsWith('HTTP/1.1 200')).toBe(true);
  });
});

describe('card402 as npm start boots it', () => {
  it('answers what the parser refuses as JSON', async () => {
    const booted = await bootServer();
    try {
      const { port } = new URL(booted.apiUrl);
      const res = parse(await raw(Number(port), `GET /pricing HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      expect(res.status).toBe(431);
      expect(res.body.code).toBe('HEADERS_TOO_LARGE');
    } finally {
      await booted.close();
    }
  });
});
