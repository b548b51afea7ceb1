import net from 'node:net';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';

/** Sends the headers and part of the declared body, then drops the connection. */
function sendPartialBodyAndHangUp(port: number, path: string, requestId: string, framing: 'content-length' | 'chunked'): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const length = framing === 'chunked' ? 'Transfer-Encoding: chunked' : 'Content-Length: 1000';
      const head = [`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', length, `X-Request-Id: ${requestId}`].join('\r\n');
      const part = framing === 'chunked' ? '10\r\n{"cardId": "abc' : '{"cardId": "abc';
      socket.write(`${head}\r\n\r\n${part}`, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', reject);
  });
}

type LogRecord = Record<string, unknown> & { level: string; msg: string };

describe('a client that sends part of its body and disconnects', () => {
  let t: TestApp;
  let server: ServerType;
  let port: number;
  beforeAll(async () => {
    t = await makeTestApp();
    ({ server, port } = await serveHttp(t.app.fetch, { port: 0, hostname: '127.0.0.1' }));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each(['content-length', 'chunked'] as const)('with %s framing: one info-level access line (499), no error line, no 5xx', async (framing) => {
    const requestId = `aborted-${framing}`;
    const records = () => t.logs.map((line) => JSON.parse(line) as LogRecord).filter((r) => r.requestId === requestId);
    await sendPartialBodyAndHangUp(port, '/cards/card-aborted/freeze', requestId, framing);
    // The access line is written last, after whatever the error mapper logged for this request.
    await vi.waitFor(() => expect(records().some((r) => r.msg === 'request')).toBe(true));

    const lines = records();
    expect(lines.filter((r) => r.level === 'error' || r.level === 'warn'), JSON.stringify(lines)).toEqual([]);
    expect(lines, JSON.stringify(lines)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', level: 'info', method: 'POST', path: '/cards/card-aborted/freeze', status: 499 });
    expect(t.logs.filter((line) => line.includes('unhandled error'))).toEqual([]);
  });

  it('leaves the server serving', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/pricing`);
    expect(res.status).toBe(200);
  });
});
