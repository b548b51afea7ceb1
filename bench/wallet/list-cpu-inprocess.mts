/**
 * CPU per signed GET /cards inside the app (app.request, no HTTP server, no wrk), for the card402
 * tree at ROOT (default: this one), so two checkouts can be compared with the same script:
 *
 *   ROOT=/path/to/other/checkout npx tsx bench/wallet/list-cpu-inprocess.mts
 *
 * 1,000 wallets with a card each, ASG v1 signatures, 16 requests in flight; prints the median of
 * five rounds of 10,000 requests after a 20,000-request warm-up (process CPU, all threads).
 */
import { inProcessApp, ROOT } from './inprocess-app.mjs';
const { walletAuthHeadersV1 } = await import(`${ROOT}/src/client/wallet-auth.ts`);
const { app, wallets } = await inProcessApp(1000);
const ts = Math.floor(Date.now() / 1000);
const headers = wallets.map((w) => walletAuthHeadersV1(w.signer, { timestamp: ts }));
async function round(n: number, concurrency: number) {
  let i = 0;
  const worker = async () => { while (i < n) { const h = headers[i++ % headers.length]; const r = await app.request('/cards', { headers: h }); if (r.status !== 200) throw new Error(`status ${r.status} ${await r.text()}`); await r.arrayBuffer(); } };
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0); const ms = performance.now() - t0;
  return { usPerReq: (cpu.user + cpu.system) / n, reqPerSec: n / (ms / 1000) };
}
await round(20000, 16); // warm-up
const results = [];
for (let k = 0; k < 5; k++) results.push(await round(10000, 16));
const sorted = results.map((r) => r.usPerReq).sort((a, b) => a - b);
console.log(`${ROOT}: CPU µs/req median ${sorted[2]!.toFixed(0)} (runs ${sorted.map((x) => x.toFixed(0)).join(', ')})`);
