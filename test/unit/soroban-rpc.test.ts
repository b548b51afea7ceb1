import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xdr } from '@stellar/stellar-sdk';
import { RpcError, SorobanRpc } from '../../src/stellar/rpc.js';

// A real HTTP server whose next answer each test chooses: the client's node:http transport and its
// parsing are exercised exactly as against a Soroban RPC.
type Answer = { status?: number; body: string } | 'hang';
let answer: Answer = { body: '{}' };
const requests: Array<{ method: string }> = [];
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { method: string });
      if (answer === 'hang') return; // never answers
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(answer.body);
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
  it('a connection the server dropped while idle is retried once on a fresh one, not reported as a failure', async () => {
    // A raw server: its first connection answers one request, then resets when it is reused (as a
    // server whose idle timeout fired just as the client reused the socket); later connections answer.
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const answerBody = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { id: 'x', protocolVersion: 23, sequence: 42 } });
    const raw = net.createServer((socket) => {
      const n = ++connections;
      sockets.add(socket);
      let served = 0;
      socket.on('data', (chunk: Buffer) => {
        if (!chunk.toString('latin1').includes('\r\n\r\n')) return;
        if (n === 1 && served === 1) return void socket.resetAndDestroy();
        served += 1;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(answerBody)}\r\n\r\n${answerBody}`);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const rpc = new SorobanRpc(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/soroban/rpc`);
      expect(await rpc.latestLedger()).toBe(42);
      expect(await rpc.latestLedger()).toBe(42);
      expect(connections).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy(); // the client keeps its socket pooled
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('a response the transport cannot frame is an RpcError', async () => {
    const raw = net.createServer((socket) => {
      socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const rpc = new SorobanRpc(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/soroban/rpc`);
      const error = await rpc.latestLedger().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RpcError);
      expect((error as Error).message).toBe('RPC response has conflicting Content-Length values');
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});
