import { spawn } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Client, Http1Error, type Http1Limits } from '../../src/stellar/http1-transport.js';

// A real TCP server that writes raw response bytes, so every framing case is exactly what a test
// says it is: the client is exercised as against Go's net/http or any other HTTP/1.1 server.

interface Received {
  /** 1 for the server's first connection, 2 for the next, … */
  connection: number;
  head: string;
  body: string;
  /** How many 'data' events the request arrived in (1 when written in one piece on loopback). */
  pieces: number;
}

/** Answers one request; may be async (a promise it returns is not awaited). */
type Reply = (socket: net.Socket, request: Received) => unknown;

class RawServer {
  connections = 0;
  readonly requests: Received[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly closes = new Map<number, Promise<void>>();
  private readonly server: net.Server;
  url!: URL;

  private constructor(public reply: Reply) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  static async start(reply: Reply): Promise<RawServer> {
    const raw = new RawServer(reply);
    await new Promise<void>((resolve) => raw.server.listen(0, '127.0.0.1', resolve));
    raw.url = new URL(`http://127.0.0.1:${(raw.server.address() as AddressInfo).port}/soroban/rpc`);
    servers.push(raw);
    return raw;
  }

  /**
   * Resolves once the server side of connection `n` has closed, which must be soon: well before
   * the client's 4 s idle timeout would close a socket it wrongly kept.
   */
  closed(n: number): Promise<void> {
    return Promise.race([
      this.closes.get(n)!,
      sleep(1_000).then(() => Promise.reject(new Error(`connection ${n} is still open after 1 s`))),
    ]);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(socket: net.Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    socket.setNoDelay(true); // each write its own packet, when a test splits a response
    this.closes.set(connection, new Promise((resolve) => socket.on('close', () => resolve())));
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let pieces = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      pieces += 1;
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = Buffer.from(buffered.slice(end + 4, end + 4 + length), 'latin1').toString('utf8');
        buffered = buffered.slice(end + 4 + length);
        const request = { connection, head, body, pieces };
        pieces = buffered === '' ? 0 : 1;
        this.requests.push(request);
        void this.reply(socket, request);
      }
    });
  }
}

const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const json = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Writes `bytes` `size` bytes per write, each after the client had a chance to read the previous one. */
async function dribble(socket: net.Socket, bytes: string, size = 1): Promise<void> {
  for (let i = 0; i < bytes.length; i += size) {
    socket.write(bytes.slice(i, i + size), 'latin1');
    await sleep(1);
  }
}
const post = (server: RawServer, body = '{"id":1}', opts: { limits?: Partial<Http1Limits>; timeoutMs?: number; client?: Http1Client } = {}) =>
  (opts.client ?? new Http1Client(opts.limits)).endpoint(server.url).post(body, opts.timeoutMs ?? 5_000);

describe('Http1Client: requests', () => {
  it('sends the whole request in one write: request line, Host, Content-Type, Content-Length, body', async () => {
    const server = await RawServer.start((socket) => socket.write(json('{"ok":true}')));
    const body = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'getLatestLedger', note: 'ünïcödé' });
    expect(await post(server, body)).toEqual({ status: 200, text: '{"ok":true}' });
    const [request] = server.requests;
    expect(request!.head).toBe(`POST /soroban/rpc HTTP/1.1\r\nHost: ${server.url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`);
    expect(request!.body).toBe(body);
    expect(request!.pieces).toBe(1);
  });

  it('keeps the query string and turns URL credentials into Basic auth, as node:http does', async () => {
    const server = await RawServer.start((socket) => socket.write(json('{}')));
    const url = new URL(server.url);
    url.username = 'user';
    url.password = 'p%40ss';
    url.search = '?key=abc';
    await new Http1Client().endpoint(url).post('{}', 5_000);
    expect(server.requests[0]!.head).toContain(`POST /soroban/rpc?key=abc HTTP/1.1\r\n`);
    expect(server.requests[0]!.head).toContain(`\r\nAuthorization: Basic ${Buffer.from('user:p@ss').toString('base64')}\r\n`);
  });

  it('rejects a refused connection with the socket error, without retrying', async () => {
    const server = await RawServer.start(() => undefined);
    const url = server.url;
    await server.close();
    await expect(new Http1Client().endpoint(url).post('{}', 5_000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('Http1Client: response framing', () => {
  it('reads a body by Content-Length, in UTF-8', async () => {
    const server = await RawServer.start((socket) => socket.write(json('{"name":"Ørsted €"}')));
    expect(await post(server)).toEqual({ status: 200, text: '{"name":"Ørsted €"}' });
  });

  it('reads a chunked body: hex sizes in either case, extensions, trailers, a character split across chunks', async () => {
    const euro = Buffer.from('€'); // 3 bytes: the second chunk ends inside it
    const response = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n'),
      Buffer.from('a;name=value;other="quoted ; text"\r\n{"price":"\r\n'), // 10 bytes
      Buffer.from('000B \t;ext\r\n123456789'), // 11 bytes: 9 digits and 2 of the euro sign's 3
      euro.subarray(0, 2),
      Buffer.from('\r\n3\r\n'),
      euro.subarray(2),
      Buffer.from('"}\r\n0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n'),
    ]);
    const server = await RawServer.start((socket) => socket.write(response));
    expect(await post(server)).toEqual({ status: 200, text: '{"price":"123456789€"}' });
  });

  it('reads every framing when the response arrives one byte per packet', async () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nT: 1\r\n\r\n';
    const replies = [json('{"a":1}'), chunked, 'HTTP/1.1 100 Continue\r\n\r\n' + json('{"b":2}')];
    const server = await RawServer.start((socket, request) => dribble(socket, replies[Number(request.body)]!));
    const client = new Http1Client();
    expect(await post(server, '0', { client })).toEqual({ status: 200, text: '{"a":1}' });
    expect(await post(server, '1', { client })).toEqual({ status: 200, text: 'hello world' });
    expect(await post(server, '2', { client })).toEqual({ status: 200, text: '{"b":2}' });
    expect(server.connections).toBe(1);
  });

  it('reads a long header line that arrives in many small packets', async () => {
    const long = 'v'.repeat(3000);
    const server = await RawServer.start((socket) => dribble(socket, json('{"c":3}', `X-Long: ${long}\r\n`), 7));
    expect(await post(server)).toEqual({ status: 200, text: '{"c":3}' });
  });

  it('reads a response split in two packets at every byte, CRLFs included', async () => {
    const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;e=1\r\nab\r\n\r\n2\r\ncd\r\n0\r\nTrailer: x\r\n\r\n';
    const server = await RawServer.start(async (socket, request) => {
      const at = Number(request.body);
      socket.write(response.slice(0, at));
      await sleep(2);
      socket.write(response.slice(at));
    });
    const client = new Http1Client();
    for (let at = 1; at < response.length; at++) {
      expect(await post(server, String(at), { client }), `split at byte ${at}`).toEqual({ status: 200, text: 'ab\r\ncd' });
    }
    expect(server.connections).toBe(1);
  });

  it('reads until the server closes when neither Content-Length nor chunked is given, then uses a new connection', async () => {
    const server = await RawServer.start((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"until":');
      setTimeout(() => socket.end('"close"}'), 5);
    });
    const client = new Http1Client();
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: '{"until":"close"}' });
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: '{"until":"close"}' });
    expect(server.connections).toBe(2);
  });

  it('skips 1xx interim responses (100 Continue, 103 Early Hints with headers) before the real answer', async () => {
    const server = await RawServer.start((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' + json('{"final":true}'));
    });
    expect(await post(server)).toEqual({ status: 200, text: '{"final":true}' });
  });

  it('returns error statuses with their body, and 204 without one', async () => {
    const server = await RawServer.start((socket, request) => {
      if (request.body === '502') socket.write('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\n\r\nbad gateway');
      else socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const client = new Http1Client();
    expect(await post(server, '502', { client })).toEqual({ status: 502, text: 'bad gateway' });
    expect(await post(server, '204', { client })).toEqual({ status: 204, text: '' });
    expect(server.connections).toBe(1);
  });

  it('accepts repeated Content-Length values that agree, header names in any case, and whitespace around values', async () => {
    const server = await RawServer.start((socket) => socket.write('HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2, 2\r\ncontent-length:\t2 \r\nX-Folded: a\r\n b\r\n\r\nok'));
    expect(await post(server)).toEqual({ status: 200, text: 'ok' });
  });
});

describe('Http1Client: connection reuse', () => {
  it('serves sequential requests on one kept-alive socket, and concurrent ones on one socket each', async () => {
    const server = await RawServer.start((socket, request) => socket.write(json(request.body)));
    const client = new Http1Client();
    for (let i = 0; i < 5; i++) expect((await post(server, String(i), { client })).text).toBe(String(i));
    expect(server.connections).toBe(1);
    const answers = await Promise.all([1, 2, 3].map((i) => post(server, String(i), { client })));
    expect(answers.map((a) => a.text)).toEqual(['1', '2', '3']);
    expect(server.connections).toBe(3);
    await Promise.all([1, 2, 3].map((i) => post(server, String(i), { client })));
    expect(server.connections).toBe(3);
    expect(server.requests.every((r) => r.pieces === 1)).toBe(true);
  });

  it('opens at most maxSocketsPerHost sockets; requests beyond wait for a free one', async () => {
    const server = await RawServer.start(async (socket, request) => {
      await sleep(10);
      socket.write(json(request.body));
    });
    const client = new Http1Client({ maxSocketsPerHost: 2 });
    const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => post(server, String(i), { client })));
    expect(answers.map((a) => a.text)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(server.connections).toBe(2);
  });

  it.each([
    ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'],
    ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ['bytes after the body', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'],
  ])('does not reuse a socket after %s', async (_label, response) => {
    const server = await RawServer.start((socket) => socket.write(response));
    const client = new Http1Client();
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: 'ok' });
    await server.closed(1);
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: 'ok' });
    expect(server.connections).toBe(2);
  });

  it('reuses an HTTP/1.0 socket that says keep-alive', async () => {
    const server = await RawServer.start((socket) => socket.write('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok'));
    const client = new Http1Client();
    await post(server, '{}', { client });
    await post(server, '{}', { client });
    expect(server.connections).toBe(1);
  });

  it('drops a pooled socket the server closed while idle; the next request succeeds on a new one', async () => {
    const server = await RawServer.start((socket, request) => {
      socket.write(json('{}'));
      if (request.connection === 1) socket.end(); // as a server's keep-alive timeout would
    });
    const client = new Http1Client();
    await post(server, '{}', { client });
    await server.closed(1);
    await sleep(10);
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: '{}' });
    expect(server.connections).toBe(2);
    expect(server.requests.map((r) => r.connection)).toEqual([1, 2]);
  });

  it('closes a pooled socket after the idle timeout', async () => {
    const server = await RawServer.start((socket) => socket.write(json('{}')));
    await post(server, '{}', { limits: { idleTimeoutMs: 50 } });
    await server.closed(1);
  });

  it('destroys an idle socket on which bytes arrive unasked', async () => {
    const server = await RawServer.start((socket, request) => {
      socket.write(json('{}'));
      if (request.connection === 1) setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 5);
    });
    const client = new Http1Client();
    await post(server, '{}', { client });
    await server.closed(1);
    expect(await post(server, '{}', { client })).toEqual({ status: 200, text: '{}' });
    expect(server.connections).toBe(2);
  });
});

describe('Http1Client: a reused socket that fails before any answer is retried once on a fresh one', () => {
  /** Connection 1 answers its first request; `misbehave` handles every request after it. */
  const serverThat = (misbehave: (socket: net.Socket, request: Received) => void) => {
    let answeredFirst = false;
    return RawServer.start((socket, request) => {
      if (answeredFirst) return misbehave(socket, request);
      answeredFirst = true;
      socket.write(json('{"first":true}'));
    });
  };

  it('a reset before any response byte: retried on a new connection', async () => {
    const raw = await serverThat((socket, request) => (request.connection === 1 ? socket.resetAndDestroy() : socket.write(json('{"retried":true}'))));
    const client = new Http1Client();
    await post(raw, '{}', { client });
    expect(await post(raw, '{}', { client })).toEqual({ status: 200, text: '{"retried":true}' });
    expect(raw.requests.map((r) => r.connection)).toEqual([1, 1, 2]);
  });

  it('a close before any response byte: retried on a new connection', async () => {
    const raw = await serverThat((socket, request) => (request.connection === 1 ? socket.end() : socket.write(json('{"retried":true}'))));
    const client = new Http1Client();
    await post(raw, '{}', { client });
    expect(await post(raw, '{}', { client })).toEqual({ status: 200, text: '{"retried":true}' });
    expect(raw.connections).toBe(2);
  });

  it('only once: a fresh connection that also resets is a failure', async () => {
    const raw = await serverThat((socket) => socket.resetAndDestroy());
    const client = new Http1Client();
    await post(raw, '{}', { client });
    await expect(post(raw, '{}', { client })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(raw.connections).toBe(2);
  });

  it('not after response bytes began: a reset mid-response is a failure', async () => {
    const raw = await serverThat((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"par');
      setTimeout(() => socket.resetAndDestroy(), 10);
    });
    const client = new Http1Client();
    await post(raw, '{}', { client });
    await expect(post(raw, '{}', { client })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(raw.connections).toBe(1);
  });

  it('not on a fresh socket: its reset is a failure', async () => {
    const raw = await RawServer.start((socket) => socket.resetAndDestroy());
    await expect(post(raw)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(raw.connections).toBe(1);
  });
});

describe('Http1Client: responses it cannot use are refused and their socket discarded', () => {
  const SECRET = 'AAAAsecret-envelope';
  it.each<[string, string | (() => string), Partial<Http1Limits>, RegExp]>([
    ['a malformed status line', 'HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok', {}, /malformed status line/],
    ['a status line of another protocol', 'ICY 200 OK\r\n\r\n', {}, /malformed status line/],
    ['a status code out of range', 'HTTP/1.1 700 Odd\r\nContent-Length: 0\r\n\r\n', {}, /malformed status line/],
    ['a malformed header line', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok', {}, /malformed header line/],
    ['a header line with a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok', {}, /not ended by CRLF/],
    ['a folded Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 2\r\n\r\nok', {}, /folded header/],
    ['an invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok', {}, /invalid Content-Length/],
    ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', {}, /conflicting Content-Length/],
    ['both Transfer-Encoding and Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', {}, /both Transfer-Encoding and Content-Length/],
    ['a Transfer-Encoding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', {}, /unsupported Transfer-Encoding/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n', {}, /malformed chunk size/],
    ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nok\r\n0\r\n\r\n', {}, /chunk longer than its size/],
    ['a 101 nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', {}, /switches protocols/],
    ['a header section over 64 KiB', () => `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\nContent-Length: 2\r\n\r\nok`, {}, /header section exceeds 65536 bytes/],
    ['headers over the limit spread over many interim responses', () => 'HTTP/1.1 100 Continue\r\nX: 1\r\n\r\n'.repeat(200), { maxHeaderBytes: 4096 }, /header section exceeds 4096 bytes/],
    ['a Content-Length over 32 MiB', `HTTP/1.1 200 OK\r\nContent-Length: ${32 * 1024 * 1024 + 1}\r\n\r\n`, {}, /body exceeds 33554432 bytes/],
    ['chunks over the body limit', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'x'.repeat(1024)}\r\n401\r\n`, { maxBodyBytes: 2048 }, /body exceeds 2048 bytes/],
    ['a read-until-close body over the limit', `HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(3000)}`, { maxBodyBytes: 2048 }, /body exceeds 2048 bytes/],
  ])('%s', async (_label, response, limits, message) => {
    const server = await RawServer.start((socket) => socket.write(typeof response === 'string' ? response : response()));
    const error = await post(server, SECRET, { limits }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Http1Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(SECRET);
    await server.closed(1); // the socket was destroyed, not pooled
  });

  it('a response cut short by the server closing', async () => {
    const server = await RawServer.start((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    await expect(post(server)).rejects.toThrow(/connection closed before the response ended/);
  });
});

describe('Http1Client: timeouts and process lifetime', () => {
  it('rejects when nothing arrives for timeoutMs, and discards the socket', async () => {
    const server = await RawServer.start(() => undefined);
    const started = performance.now();
    await expect(post(server, '{}', { timeoutMs: 100 })).rejects.toThrow(/request timed out \(no progress for 100 ms\)/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    await server.closed(1);
  });

  it('waits longer than timeoutMs in all for a response that keeps making progress', async () => {
    const server = await RawServer.start(async (socket) => {
      for (const piece of ['HTTP/1.1 200 OK\r\n', 'Content-Length: 2\r\n\r\n', 'o', 'k']) {
        await sleep(60);
        socket.write(piece);
      }
    });
    expect(await post(server, '{}', { timeoutMs: 150 })).toEqual({ status: 200, text: 'ok' });
  });

  it('lets the process exit while pooled sockets sit idle', async () => {
    const server = await RawServer.start((socket) => socket.write(json('{"exit":"soon"}')));
    const transport = path.resolve(import.meta.dirname, '../../src/stellar/http1-transport.ts');
    const script = `
      import { Http1Client } from ${JSON.stringify(transport)};
      const response = await new Http1Client().endpoint(new URL(process.argv[1])).post('{}', 5000);
      console.log(response.text);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script, server.url.href], { stdio: ['ignore', 'pipe', 'inherit'] });
    let printedAt = 0;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      printedAt = performance.now();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(output.trim()).toBe('{"exit":"soon"}');
    expect(code).toBe(0);
    // The socket is still open on the server's side: only unref() lets the child go (the idle timeout is 4 s).
    expect(performance.now() - printedAt).toBeLessThan(2_000);
    expect(server.connections).toBe(1);
  });
});
