// bench/rpc-transport: client CPU per JSON-RPC call to the local ledger over HTTPS (as to a real
// Soroban RPC), node:https with a keep-alive agent vs undici (a Pool; request() and a dispatch()
// handler). The ledger runs in a child process, so process.cpuUsage() here is the client's alone:
// building the body, the transport and TLS, and JSON.parse of the answer.
//   npx tsx bench/rpc-transport.ts   (env: CALLS per measurement, RUNS)
// Prints medians and ratios; results go to BENCHMARKS.md by hand. No assertions: timings are not tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { urlToHttpOptions } from 'node:url';
import { Account, Keypair, Operation, TransactionBuilder, nativeToScVal, rpc } from '@stellar/stellar-sdk';
import { Pool, type Dispatcher } from 'undici';
import { LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT } from '../src/localnet/index.js';
import { SorobanRpc } from '../src/stellar/rpc.js';
import { selfSignedCert, startLedger } from './ledger-process.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const calls = num('CALLS', 4000);
const runs = num('RUNS', 5);
const TIMEOUT_MS = 30_000;

type Post = (body: string) => Promise<{ status: number; text: string }>;

/** node:https with a keep-alive agent, request options prepared once. */
function nodeHttpsPost(url: URL, ca: Buffer): Post {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 256, ca });
  const target: https.RequestOptions = { ...urlToHttpOptions(url), agent, method: 'POST' };
  return (body) =>
    new Promise((resolve, reject) => {
      const request = https.request({ ...target, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.setTimeout(TIMEOUT_MS, () => request.destroy(new Error('timed out')));
      request.end(body);
    });
}

const undiciPool = (url: URL, ca: Buffer) => new Pool(url.origin, { connections: 256, connect: { ca }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });

/** undici's request(): the answer as a stream, read with body.text(). */
function undiciRequestPost(url: URL, ca: Buffer): Post {
  const pool = undiciPool(url, ca);
  const pathname = url.pathname + url.search;
  return async (body) => {
    const response = await pool.request({ path: pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.statusCode, text: await response.body.text() };
  };
}

/** undici's dispatch() with a handler that collects the chunks: no stream per response. */
function undiciDispatchPost(url: URL, ca: Buffer): Post {
  const pool = undiciPool(url, ca);
  const pathname = url.pathname + url.search;
  return (body) =>
    new Promise((resolve, reject) => {
      let status = 0;
      const chunks: Buffer[] = [];
      const handler: Dispatcher.DispatchHandlers = {
        onConnect: () => undefined,
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: (chunk) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }),
        onError: reject,
      };
      pool.dispatch({ origin: url.origin, path: pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body }, handler);
    });
}

/** A USDC transfer that landed, so getTransaction answers SUCCESS with its envelope, result and meta. */
async function landedTransaction(ledgerUrl: string, server: SorobanRpc): Promise<string> {
  const [sender, recipient] = [Keypair.random(), Keypair.random()];
  for (const account of [sender, recipient]) {
    await fetch(`${ledgerUrl}/friendbot?addr=${account.publicKey()}`);
    await fetch(`${ledgerUrl}/friendbot?addr=${account.publicKey()}&asset=USDC&amount=100`);
  }
  const sequence = await server.accountSequence(sender.publicKey());
  const draft = new TransactionBuilder(new Account(sender.publicKey(), String(sequence)), { fee: '100', networkPassphrase: LOCALNET_PASSPHRASE })
    .addOperation(
      Operation.invokeContractFunction({
        contract: LOCALNET_USDC_CONTRACT,
        function: 'transfer',
        args: [nativeToScVal(sender.publicKey(), { type: 'address' }), nativeToScVal(recipient.publicKey(), { type: 'address' }), nativeToScVal(1n, { type: 'i128' })],
      }),
    )
    .setTimeout(60)
    .build();
  const tx = rpc.assembleTransaction(draft, await server.simulateRaw(draft)).build();
  tx.sign(sender);
  const sent = await server.send(tx);
  for (;;) {
    const found = await server.transaction(sent.hash);
    if (found.status === 'SUCCESS') return sent.hash;
    if (found.status === 'FAILED') throw new Error(`bench transaction failed: ${found.resultCode ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Client CPU µs per call: `count` calls, `inFlight` at a time, each a JSON-RPC body and a parsed answer. */
async function measure(post: Post, method: string, params: unknown, count: number, inFlight: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const response = await post(JSON.stringify({ jsonrpc: '2.0', id: next, method, ...(params === undefined ? {} : { params }) }));
      const json = JSON.parse(response.text) as { result?: unknown };
      if (response.status !== 200 || json.result === undefined) throw new Error(`${method}: HTTP ${response.status} ${response.text.slice(0, 200)}`);
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

console.log(`bench/rpc-transport — ${new Date().toISOString()} — node ${process.version} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} — load ${loadAverage()}`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-rpc-bench-'));
const tls = selfSignedCert(dir);
const ca = readFileSync(tls.certPath);
const ledger = await startLedger(1000, tls);
try {
  const url = new URL(`${ledger.httpsUrl!}/soroban/rpc`);
  const hash = await landedTransaction(ledger.url, new SorobanRpc(`${ledger.url}/soroban/rpc`));
  const transports: Array<[string, Post]> = [
    ['node:https', nodeHttpsPost(url, ca)],
    ['undici request', undiciRequestPost(url, ca)],
    ['undici dispatch', undiciDispatchPost(url, ca)],
  ];
  const cases: Array<[string, string, unknown]> = [
    ['getLatestLedger', 'getLatestLedger', undefined],
    ['getTransaction NOT_FOUND', 'getTransaction', { hash: '00'.repeat(32) }],
    ['getTransaction SUCCESS', 'getTransaction', { hash }],
  ];
  for (const [label, method, params] of cases) {
    const sample = await transports[0]![1](JSON.stringify({ jsonrpc: '2.0', id: 0, method, ...(params === undefined ? {} : { params }) }));
    console.log(`\n${label} (answer ${sample.text.length} bytes), ${calls} calls per measurement, median of ${runs} runs, transports alternating`);
    console.log(`   in flight | ${transports.map(([name]) => `${name} µs/call`).join(' | ')} | ${transports.slice(1).map(([name]) => `node:https ÷ ${name}`).join(' | ')}`);
    for (const inFlight of [1, 8]) {
      // Warm-up, not measured: every transport's code through V8's compilers and its sockets open.
      for (const [, post] of transports) await measure(post, method, params, calls / 2, inFlight);
      const samples = transports.map((): number[] => []);
      for (let run = 0; run < runs; run++) {
        for (const [i, [, post]] of transports.entries()) samples[i]!.push(await measure(post, method, params, calls, inFlight));
      }
      const medians = samples.map(median);
      console.log(
        `   ${String(inFlight).padStart(9)} | ${medians.map((m) => m.toFixed(0)).join(' | ')} | ${medians.slice(1).map((m) => (medians[0]! / m).toFixed(2)).join(' | ')}` +
          `   (runs: ${samples.map((s) => s.map((x) => x.toFixed(0)).join('/')).join(' vs ')})`,
      );
    }
  }
  console.log(`\nload at the end: ${loadAverage()}`);
} finally {
  ledger.child.kill('SIGTERM');
  await new Promise((resolve) => ledger.child.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0); // the pools' idle sockets
