import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { xdr } from '@stellar/stellar-sdk';
import { BATCH_REPROBE_MS, MAX_BATCH_SIZE, MAX_RPC_RESPONSE_BYTES, RpcError, SorobanRpc } from '../../src/stellar/rpc.js';

// A real HTTP server whose next answer each test chooses: the client's transport and its parsing are
// exercised exactly as against a Soroban RPC. An answer may be computed from the request.
type Reply = { status?: number; body: string };
type Answer = Reply | 'hang' | ((request: unknown) => Reply);
let answer: Answer = { body: '{}' };
const requests: unknown[] = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push(request);
      if (answer === 'hang') return; // never answers
      const reply = typeof answer === 'function' ? answer(request) : answer;
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/soroban/rpc`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const result = (value: unknown) => ({ body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: value }) });

const SOROBAN_DATA = new xdr.SorobanTransactionData({
  ext: new xdr.SorobanTransactionDataExt(0),
  resources: new xdr.SorobanResources({ footprint: new xdr.LedgerFootprint({ readOnly: [], readWrite: [] }), instructions: 7, diskReadBytes: 8, writeBytes: 9 }),
  resourceFee: xdr.Int64.fromString('4321'),
});
const EVENT = new xdr.DiagnosticEvent({
  inSuccessfulContractCall: true,
  event: new xdr.ContractEvent({
    ext: new xdr.ExtensionPoint(0),
    contractId: null,
    type: xdr.ContractEventType.diagnostic(),
    body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics: [xdr.ScVal.scvSymbol('fn_call')], data: xdr.ScVal.scvVoid() })),
  }),
});
const GOOD_SIMULATION = {
  latestLedger: 77,
  minResourceFee: '4321',
  transactionData: SOROBAN_DATA.toXDR('base64'),
  events: [EVENT.toXDR('base64')],
  results: [{ auth: [], xdr: xdr.ScVal.scvVoid().toXDR('base64') }],
};

describe('SorobanRpc: every answer it cannot use is a clear RpcError', () => {
  const rpc = () => new SorobanRpc(url);

  it.each<[string, Answer, RegExp]>([
    ['an HTTP error status', { status: 502, body: 'bad gateway' }, /getLatestLedger: HTTP 502/],
    ['a body that is not JSON', { body: '<html>' }, /getLatestLedger: response is not JSON/],
    ['JSON that is not a JSON-RPC object', { body: 'null' }, /getLatestLedger: response is not a JSON-RPC object/],
    ['a JSON-RPC error', { body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'invalid params' } }) }, /getLatestLedger: invalid params/],
    ['a JSON-RPC error that is not an object', { body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: 'boom' }) }, /getLatestLedger: error/],
    ['no result', { body: JSON.stringify({ jsonrpc: '2.0', id: 1 }) }, /getLatestLedger: empty result/],
    ['a result without a ledger sequence', result({ sequence: 'twelve' }), /getLatestLedger: malformed result/],
  ])('getLatestLedger: %s', async (_label, reply, message) => {
    answer = reply;
    const error = await rpc().latestLedger().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps the JSON-RPC error code', async () => {
    answer = { body: JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'invalid params' } }) };
    await expect(rpc().latestLedger()).rejects.toMatchObject({ name: 'RpcError', code: -32602 });
  });

  it('gives up on an RPC that never answers', async () => {
    answer = 'hang';
    await expect(new SorobanRpc(url, { timeoutMs: 50 }).latestLedger()).rejects.toThrow(/RPC request timed out/);
  });

  it('reads sendTransaction answers, and refuses ones that do not say whether the transaction was taken', async () => {
    answer = result({ status: 'PENDING', hash: 'ab'.repeat(32), latestLedger: 9 });
    expect(await rpc().send('AAAA')).toEqual({ status: 'PENDING', hash: 'ab'.repeat(32), latestLedger: 9 });
    answer = result({ status: 'ERROR', hash: 'ab'.repeat(32), errorResultXdr: 'not xdr' });
    expect(await rpc().send('AAAA')).toEqual({ status: 'ERROR', hash: 'ab'.repeat(32), errorResultCode: 'unparseable' });
    answer = result({ status: 'MAYBE', hash: 'ab'.repeat(32) });
    await expect(rpc().send('AAAA')).rejects.toThrow(/sendTransaction: malformed result/);
    answer = result({ status: 'PENDING' });
    await expect(rpc().send('AAAA')).rejects.toThrow(/sendTransaction: malformed result/);
  });

  it('reads getTransaction answers and refuses unknown statuses', async () => {
    answer = result({ status: 'SUCCESS', ledger: 12, latestLedger: 13 });
    expect(await rpc().transaction('ab'.repeat(32))).toEqual({ status: 'SUCCESS', ledger: 12 });
    answer = result({ status: 'NOT_FOUND', latestLedger: 13 });
    expect(await rpc().transaction('ab'.repeat(32))).toEqual({ status: 'NOT_FOUND', latestLedger: 13 });
    answer = result({ status: 'PROBABLY', latestLedger: 13 });
    await expect(rpc().transaction('ab'.repeat(32))).rejects.toThrow(/getTransaction: malformed result/);
    answer = result({ status: 'NOT_FOUND' });
    await expect(rpc().transaction('ab'.repeat(32))).rejects.toThrow(/getTransaction: malformed result/);
  });
});

describe('SorobanRpc.simulate: parses the fields verification uses', () => {
  const rpc = () => new SorobanRpc(url);

  it('decodes events, fee, resources and ledger of a successful simulation', async () => {
    answer = result(GOOD_SIMULATION);
    const outcome = await rpc().simulate('AAAA');
    expect(requests.at(-1)).toMatchObject({ method: 'simulateTransaction', params: { transaction: 'AAAA' } });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.latestLedger).toBe(77);
    expect(outcome.minResourceFee).toBe(4321n);
    expect(outcome.transactionData.xdr.toString('base64')).toBe(SOROBAN_DATA.toXDR('base64'));
    expect(outcome.transactionData.resourceFee).toBe(BigInt(SOROBAN_DATA.resourceFee().toString()));
    expect(outcome.events.map((e) => e.toXDR('base64'))).toEqual([EVENT.toXDR('base64')]);
  });

  it('accepts a simulation with no events', async () => {
    answer = result({ ...GOOD_SIMULATION, events: undefined });
    expect(await rpc().simulate('AAAA')).toMatchObject({ ok: true, events: [] });
  });

  it('reports a failed simulation and one that needs a state restore as not ok', async () => {
    answer = result({ latestLedger: 77, error: 'HostError: Error(Contract, #10)', events: [] });
    expect(await rpc().simulate('AAAA')).toEqual({ ok: false, error: 'HostError: Error(Contract, #10)' });
    answer = result({ ...GOOD_SIMULATION, restorePreamble: { transactionData: SOROBAN_DATA.toXDR('base64'), minResourceFee: '1' } });
    expect(await rpc().simulate('AAAA')).toMatchObject({ ok: false });
    // An empty preamble is no restore (the sdk's rule).
    answer = result({ ...GOOD_SIMULATION, restorePreamble: { transactionData: '', minResourceFee: '0' } });
    expect(await rpc().simulate('AAAA')).toMatchObject({ ok: true });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no resources', { transactionData: undefined }, /malformed result/],
    ['no ledger', { latestLedger: undefined }, /malformed result/],
    ['a fee that is not an integer', { minResourceFee: '1.5' }, /malformed result/],
    ['a negative fee', { minResourceFee: '-1' }, /malformed result/],
    ['events that are not strings', { events: [1] }, /malformed events/],
    ['resources that do not decode', { transactionData: 'AAAA' }, /does not decode/],
    ['an event that does not decode', { events: ['AAAA'] }, /does not decode/],
  ])('refuses a simulation with %s', async (_label, change, message) => {
    answer = result({ ...GOOD_SIMULATION, ...change });
    const error = await rpc().simulate('AAAA').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('SorobanRpc over kept-alive connections', () => {
  const LEDGER_42 = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { id: 'x', protocolVersion: 23, sequence: 42 } });
  const ok = (body = LEDGER_42) => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  /** Lets the client's pool take a connection back after an answer, as between two calls of a real settlement. */
  const idle = () => new Promise((resolve) => setTimeout(resolve, 20));

  /**
   * A raw TCP server writing exactly the bytes a test gives: `reply(socket, connection, nth)` answers
   * the nth request (from 1) on connection number `connection` (from 1). It records which connection
   * each request came on, and each request's head (request line and headers).
   */
  async function rawServer(reply: (socket: net.Socket, connection: number, nth: number) => void) {
    const requestsOn: number[] = [];
    const heads: string[] = [];
    const sockets = new Set<net.Socket>();
    let connections = 0;
    const server = net.createServer((socket) => {
      const connection = ++connections;
      sockets.add(socket);
      let nth = 0;
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        if (!text.includes('\r\n\r\n')) return;
        requestsOn.push(connection);
        heads.push(text.slice(0, text.indexOf('\r\n\r\n') + 2));
        reply(socket, connection, ++nth);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      requestsOn,
      heads,
      rpc: new SorobanRpc(`http://127.0.0.1:${(server.address() as AddressInfo).port}/soroban/rpc`),
      close: async () => {
        for (const socket of sockets) socket.destroy(); // the client keeps its sockets pooled
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }
  const servers: Array<{ close(): Promise<void> }> = [];
  const start = async (reply: Parameters<typeof rawServer>[0]) => {
    const server = await rawServer(reply);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it("posts JSON to the URL's path and query, with the URL's credentials as Basic auth", async () => {
    const raw = await start((socket) => socket.write(ok()));
    const url = new URL(raw.rpc.url);
    url.username = 'user';
    url.password = 'p%40ss';
    url.search = '?key=abc';
    expect(await new SorobanRpc(url.href).latestLedger()).toBe(42);
    const [head] = raw.heads;
    expect(head).toMatch(/^POST \/soroban\/rpc\?key=abc HTTP\/1\.1\r\n/);
    expect(head).toMatch(/\r\ncontent-type: application\/json\r\n/i);
    expect(head).toMatch(new RegExp(`\\r\\nauthorization: Basic ${Buffer.from('user:p@ss').toString('base64')}\\r\\n`, 'i'));
  });

  it('reuses one kept-alive connection for calls one after another', async () => {
    const raw = await start((socket) => socket.write(ok()));
    for (let i = 0; i < 3; i++) {
      expect(await raw.rpc.latestLedger()).toBe(42);
      await idle();
    }
    expect(raw.requestsOn).toEqual([1, 1, 1]);
  });

  it.each<[string, (socket: net.Socket) => void]>([
    ['reset', (socket) => socket.resetAndDestroy()],
    ['closed', (socket) => socket.end()],
  ])('a kept-alive connection the server %s as it was reused is retried once on a fresh one, not reported as a failure', async (_label, drop) => {
    // Connection 1 answers its first request, then drops the connection when it is reused (as a
    // server whose idle timeout fired just as the client reused the socket); later connections answer.
    const raw = await start((socket, connection, nth) => (connection === 1 && nth === 2 ? drop(socket) : socket.write(ok())));
    expect(await raw.rpc.latestLedger()).toBe(42);
    await idle();
    expect(await raw.rpc.latestLedger()).toBe(42);
    expect(raw.requestsOn).toEqual([1, 1, 2]);
  });

  it('retries only once: a fresh connection that is also reset is a failure', async () => {
    const raw = await start((socket) => socket.resetAndDestroy());
    const error = await raw.rpc.latestLedger().catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ECONNRESET' });
    expect(raw.requestsOn).toEqual([1, 2]);
  });

  it('does not retry once the answer began: a connection reset mid-answer is an RpcError', async () => {
    const raw = await start((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"par');
      setTimeout(() => socket.resetAndDestroy(), 10);
    });
    const error = await raw.rpc.latestLedger().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(/^RPC response refused: /);
    expect(raw.requestsOn).toEqual([1]);
  });

  it.each<[string, string]>([
    ['conflicting Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
    ['a malformed status line', 'HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\n{}'],
    ['a body cut short by the server closing', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}'],
    [`a body over ${MAX_RPC_RESPONSE_BYTES} bytes`, `HTTP/1.1 200 OK\r\nContent-Length: ${MAX_RPC_RESPONSE_BYTES + 1}\r\n\r\n{}`],
  ])('an answer the transport refuses (%s) is an RpcError, not retried', async (_label, response) => {
    const raw = await start((socket) => socket.end(response));
    const error = await raw.rpc.latestLedger().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(/^RPC response refused: /);
    expect(raw.requestsOn).toEqual([1]);
  });

  it('an RPC that cannot be reached fails with the socket error, without retrying', async () => {
    const raw = await start(() => undefined);
    await raw.close();
    await expect(raw.rpc.latestLedger()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('waits longer than the timeout in all for an answer that keeps making progress', async () => {
    const answer = ok();
    const head = answer.indexOf('\r\n\r\n') + 4;
    const raw = await start(async (socket) => {
      // The head at once, then the body in three more pieces a second apart: 3 s in all, each gap half the timeout.
      for (const piece of [answer.slice(0, head + 10), answer.slice(head + 10, head + 20), answer.slice(head + 20, head + 30), answer.slice(head + 30)]) {
        socket.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    });
    expect(await new SorobanRpc(raw.rpc.url, { timeoutMs: 2_000 }).latestLedger()).toBe(42);
  });

  it('gives up on an answer that stops making progress', async () => {
    const answer = ok();
    const raw = await start((socket) => socket.write(answer.slice(0, answer.indexOf('\r\n\r\n') + 10)));
    await expect(new SorobanRpc(raw.rpc.url, { timeoutMs: 50 }).latestLedger()).rejects.toThrow(/^RPC request timed out$/);
  });
});

describe('SorobanRpc over HTTPS, in a process of its own', () => {
  it('talks to an RPC whose certificate the process trusts, and exits while its connection sits idle in the pool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rpc-tls-'));
    const [certPath, keyPath] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
    const server = https.createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { sequence: 77 } })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/soroban/rpc`;
      const rpcModule = join(import.meta.dirname, '../../src/stellar/rpc.ts');
      const script = `
        import { SorobanRpc } from ${JSON.stringify(rpcModule)};
        const rpc = new SorobanRpc(process.argv[1]);
        console.log(await rpc.latestLedger(), await rpc.latestLedger());
        await new Promise((resolve) => setTimeout(resolve, 20));
        // Sockets that would keep the process alive: none, though the kept-alive one is still open.
        console.log(JSON.stringify(process.getActiveResourcesInfo().filter((r) => /TCP|TLS/.test(r))));
      `;
      // The CA comes through NODE_EXTRA_CA_CERTS (read at start-up): nothing turns certificate checks off.
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script, url], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(output.trim().split('\n')).toEqual(['77 77', '[]']);
      expect(code).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SorobanRpc.transactions: many getTransaction lookups in one JSON-RPC batch', () => {
  type Request = { id: number; method: string; params: { hash: string } };
  const rpc = () => new SorobanRpc(url);
  const hashes = (n: number, from = 0) => Array.from({ length: n }, (_, i) => (from + i).toString(16).padStart(64, '0'));
  const FAILED_RESULT = new xdr.TransactionResult({
    feeCharged: xdr.Int64.fromString('100'),
    result: xdr.TransactionResultResult.txBadSeq(),
    ext: new xdr.TransactionResultExt(0),
  }).toXDR('base64');
  /** What a healthy RPC says about each hash: landed ones by their last digit, the rest not found. */
  const truth = (hash: string): unknown =>
    hash.endsWith('1')
      ? { status: 'SUCCESS', txHash: hash, ledger: 12, latestLedger: 13 }
      : hash.endsWith('2')
        ? { status: 'FAILED', txHash: hash, ledger: 12, latestLedger: 13, resultXdr: FAILED_RESULT }
        : { status: 'NOT_FOUND', latestLedger: 13 };
  const one = (request: Request) => ({ jsonrpc: '2.0', id: request.id, result: truth(request.params.hash) });
  /** A batch-capable RPC whose answers to a batch pass through `change` (answers in request order). */
  const batchRpc =
    (change: (answers: Array<Record<string, unknown>>) => unknown = (answers) => answers) =>
    (request: unknown): Reply => ({ body: JSON.stringify(Array.isArray(request) ? change((request as Request[]).map(one)) : one(request as Request)) });
  const batches = () => requests.filter((r) => Array.isArray(r)) as Request[][];
  const singles = () => requests.filter((r) => !Array.isArray(r)) as Request[];

  beforeEach(() => {
    requests.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks about every hash in one request with distinct ids and matches the answers by id, in any order', async () => {
    answer = batchRpc((answers) => answers.reverse());
    const [landed, failed, absent] = [hashes(1, 1)[0]!, hashes(1, 2)[0]!, hashes(1, 3)[0]!];
    const found = await rpc().transactions([landed, failed, absent, landed]);
    expect(requests).toHaveLength(1);
    const [batch] = batches();
    expect(batch!.map((r) => r.method)).toEqual(['getTransaction', 'getTransaction', 'getTransaction']);
    expect(batch!.map((r) => r.params.hash)).toEqual([landed, failed, absent]);
    expect(new Set(batch!.map((r) => r.id)).size).toBe(3);
    expect(found).toEqual(
      new Map<string, unknown>([
        [landed, { status: 'SUCCESS', ledger: 12 }],
        [failed, { status: 'FAILED', ledger: 12, resultCode: 'txBadSeq' }],
        [absent, { status: 'NOT_FOUND', latestLedger: 13 }],
      ]),
    );
  });

  it('asks about a single hash with a plain getTransaction call', async () => {
    answer = batchRpc();
    const [hash] = hashes(1, 1);
    expect(await rpc().transactions([hash!])).toEqual(new Map([[hash, { status: 'SUCCESS', ledger: 12 }]]));
    expect(singles()).toHaveLength(1);
  });

  it(`splits more than ${MAX_BATCH_SIZE} hashes into several batches`, async () => {
    answer = batchRpc();
    const found = await rpc().transactions(hashes(2 * MAX_BATCH_SIZE + 7));
    expect(batches().map((b) => b.length)).toEqual([MAX_BATCH_SIZE, MAX_BATCH_SIZE, 7]);
    expect(found.size).toBe(2 * MAX_BATCH_SIZE + 7);
    expect([...found.values()].every((v) => !(v instanceof Error))).toBe(true);
  });

  it.each<[string, (answers: Array<Record<string, unknown>>) => unknown, RegExp]>([
    ['no answer for it', (answers) => answers.slice(1), /no answer in the batch/],
    ['an answer under an id that was not sent', (answers) => [{ ...answers[0], id: 999_999_999 }, ...answers.slice(1)], /no answer in the batch/],
    ['a string id', (answers) => [{ ...answers[0], id: String(answers[0]!.id) }, ...answers.slice(1)], /no answer in the batch/],
    ['two answers', (answers) => [answers[0], ...answers], /answered twice/],
    ['a JSON-RPC error', (answers) => [{ jsonrpc: '2.0', id: answers[0]!.id, error: { code: -32603, message: 'internal error' } }, ...answers.slice(1)], /getTransaction: internal error/],
    ['a malformed result', (answers) => [{ ...answers[0], result: { status: 'MAYBE' } }, ...answers.slice(1)], /malformed result/],
    ['an item that is not an object', (answers) => ['junk', ...answers.slice(1)], /no answer in the batch/],
    ['the answer about another transaction (ids mixed up)', (answers) => [{ ...answers[1], id: answers[0]!.id }, { ...answers[0], id: answers[1]!.id }, ...answers.slice(2)], /another transaction/],
  ])('fails only the hash whose answer is %s', async (_label, change, message) => {
    answer = batchRpc(change);
    // The first hash is a landed one, so a mixed-up answer carries a txHash that gives it away.
    const asked = [hashes(1, 1)[0]!, hashes(1, 0x12)[0]!, hashes(1, 3)[0]!];
    const found = await rpc().transactions(asked);
    const first = found.get(asked[0]!);
    expect(first).toBeInstanceOf(RpcError);
    expect((first as Error).message).toMatch(message);
    expect(found.get(asked[2]!)).toEqual({ status: 'NOT_FOUND', latestLedger: 13 });
    // Its neighbour keeps its own answer, unless that answer is the one that went astray.
    if (message.source === 'another transaction') expect((found.get(asked[1]!) as Error).message).toMatch(message);
    else expect(found.get(asked[1]!)).toEqual({ status: 'FAILED', ledger: 12, resultCode: 'txBadSeq' });
  });

  it('fails every hash, without rejecting or giving up on batches, when the answer is not JSON or the RPC cannot be reached', async () => {
    answer = { body: '[{"jsonrpc": "2.0", ' };
    const client = rpc();
    const found = await client.transactions(hashes(3));
    expect([...found.values()].map((v) => (v as Error).message)).toEqual(Array(3).fill('getTransaction batch: response is not JSON'));
    answer = batchRpc();
    await client.transactions(hashes(3));
    expect(batches()).toHaveLength(2);

    answer = 'hang';
    const unreachable = await new SorobanRpc(url, { timeoutMs: 50 }).transactions(hashes(2));
    expect(unreachable.size).toBe(2);
    for (const lookup of unreachable.values()) expect((lookup as Error).message).toMatch(/RPC request timed out/);
  });

  it.each<[string, Reply]>([
    ['an Invalid Request error object', { body: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } }) }],
    ['HTTP 400', { status: 400, body: 'bad request' }],
    ['HTTP 500', { status: 500, body: '{}' }],
  ])('falls back to single calls when a batch is answered with %s, and keeps to them for a while', async (_label, refusal) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const healthy = batchRpc();
    answer = (request) => (Array.isArray(request) ? refusal : healthy(request));
    const client = rpc();
    const asked = [hashes(1, 1)[0]!, hashes(1, 3)[0]!];
    const expected = new Map<string, unknown>([
      [asked[0]!, { status: 'SUCCESS', ledger: 12 }],
      [asked[1]!, { status: 'NOT_FOUND', latestLedger: 13 }],
    ]);
    expect(await client.transactions(asked)).toEqual(expected);
    expect(batches()).toHaveLength(1);
    expect(singles()).toHaveLength(2);

    // Remembered: no batch on the next ledgers, until the re-probe.
    vi.advanceTimersByTime(BATCH_REPROBE_MS - 1);
    expect(await client.transactions(asked)).toEqual(expected);
    expect(batches()).toHaveLength(1);
    expect(singles()).toHaveLength(4);

    vi.advanceTimersByTime(1);
    answer = healthy;
    expect(await client.transactions(asked)).toEqual(expected);
    expect(batches()).toHaveLength(2);
    expect(singles()).toHaveLength(4);
  });
});
