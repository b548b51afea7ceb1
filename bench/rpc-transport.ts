// bench/rpc-transport: client CPU per JSON-RPC call to the local ledger over http:, node:http (what
// SorobanRpc used before) vs our Http1Client. The ledger runs in a child process, so process.cpuUsage()
// here is the client's alone: building the body, the transport, and JSON.parse of the answer.
//   npx tsx bench/rpc-transport.ts   (env: CALLS per measurement, RUNS)
// Prints medians and ratios; results go to BENCHMARKS.md by hand. No assertions: timings are not tests.
import http from 'node:http';
import os from 'node:os';
import { urlToHttpOptions } from 'node:url';
import { Account, Keypair, Operation, TransactionBuilder, nativeToScVal, rpc } from '@stellar/stellar-sdk';
import { LOCALNET_PASSPHRASE, LOCALNET_USDC_CONTRACT } from '../src/localnet/index.js';
import { Http1Client } from '../src/stellar/http1-transport.js';
import { SorobanRpc } from '../src/stellar/rpc.js';
import { startLedger } from './ledger-process.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const calls = num('CALLS', 4000);
const runs = num('RUNS', 5);
const TIMEOUT_MS = 30_000;

type Post = (body: string) => Promise<{ status: number; text: string }>;

/** node:http with a keep-alive agent, as SorobanRpc posted before Http1Client (request options prepared once). */
function nodeHttpPost(url: URL): Post {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target: http.RequestOptions = { ...urlToHttpOptions(url), agent, method: 'POST' };
  return (body) =>
    new Promise((resolve, reject) => {
      const request = http.request({ ...target, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
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

function http1Post(url: URL): Post {
  const endpoint = new Http1Client().endpoint(url);
  return (body) => endpoint.post(body, TIMEOUT_MS);
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

console.log(`bench/rpc-transport — ${new Date().toISOString()} — node ${process.version} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);
const ledger = await startLedger(1000);
try {
  const url = new URL(`${ledger.url}/soroban/rpc`);
  const hash = await landedTransaction(ledger.url, new SorobanRpc(url.href));
  const transports: Array<[string, Post]> = [
    ['node:http', nodeHttpPost(url)],
    ['Http1Client', http1Post(url)],
  ];
  const cases: Array<[string, string, unknown]> = [
    ['getLatestLedger', 'getLatestLedger', undefined],
    ['getTransaction NOT_FOUND', 'getTransaction', { hash: '00'.repeat(32) }],
    ['getTransaction SUCCESS', 'getTransaction', { hash }],
  ];
  for (const [label, method, params] of cases) {
    const sample = await transports[1]![1](JSON.stringify({ jsonrpc: '2.0', id: 0, method, ...(params === undefined ? {} : { params }) }));
    console.log(`\n${label} (answer ${sample.text.length} bytes), ${calls} calls per measurement, median of ${runs} runs, transports alternating`);
    console.log('   in flight | node:http µs/call | Http1Client µs/call | node:http ÷ Http1Client');
    for (const inFlight of [1, 8]) {
      // Warm-up, not measured: both transports' code through V8's compilers and their sockets open.
      for (const [, post] of transports) await measure(post, method, params, calls / 2, inFlight);
      const samples = transports.map((): number[] => []);
      for (let run = 0; run < runs; run++) {
        for (const [i, [, post]] of transports.entries()) samples[i]!.push(await measure(post, method, params, calls, inFlight));
      }
      const [nodeUs, http1Us] = samples.map(median) as [number, number];
      console.log(
        `   ${String(inFlight).padStart(9)} | ${nodeUs.toFixed(0).padStart(17)} | ${http1Us.toFixed(0).padStart(19)} | ${(nodeUs / http1Us).toFixed(2).padStart(22)}` +
          `   (runs: ${samples.map((s) => s.map((x) => x.toFixed(0)).join('/')).join(' vs ')})`,
      );
    }
  }
} finally {
  ledger.child.kill('SIGTERM');
  await new Promise((resolve) => ledger.child.once('exit', resolve));
}
