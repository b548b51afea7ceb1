import net from 'node:net';
import type { ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHeader } from '../../src/http/kernel/request-header.js';
import { serveHttp } from '../../src/http/kernel/serve.js';

const NAMES = ['X-Request-Id', 'payment-signature', 'IDEMPOTENCY-KEY', 'X-Absent'];
const app = new Hono().get('/h', (c) => c.json(Object.fromEntries(NAMES.map((name) => [name, requestHeader(c, name) ?? null]))));

/** One raw HTTP/1.1 request with exactly these header lines (repeats included); the JSON answer. */
function rawGet(port: number, lines: string[]): Promise<Record<string, string | null>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(['GET /h HTTP/1.1', 'Host: x', 'Connection: close', ...lines, '', ''].join('\r\n')));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as Record<string, string | null>));
    socket.on('error', reject);
  });
}

describe('requestHeader reads the same values over HTTP (node) as in-process (hono)', () => {
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await serveHttp(app.fetch, { port: 0, hostname: '127.0.0.1' }));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('any letter case, repeated fields joined with ", ", absent fields undefined', async () => {
    const lines = ['x-request-id: abc', 'Payment-Signature: eyJ4', 'Idempotency-Key: k1', 'idempotency-key: k2'];
    const overHttp = await rawGet(port, lines);
    expect(overHttp).toEqual({ 'X-Request-Id': 'abc', 'payment-signature': 'eyJ4', 'IDEMPOTENCY-KEY': 'k1, k2', 'X-Absent': null });
    const headers = new Headers();
    for (const line of lines) headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
    const inProcess = await (await app.request('/h', { headers })).json();
    expect(inProcess).toEqual(overHttp);
  });
});
