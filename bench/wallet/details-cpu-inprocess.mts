/**
 * CPU per GET /cards/:id/details (plain and sealed) inside the app (app.request, no HTTP server),
 * one request at a time, for the card402 tree at ROOT (default: this one):
 *
 *   npx tsx bench/wallet/details-cpu-inprocess.mts            (ROOT=/other/checkout to compare)
 *
 * 1,000 wallets with a card each on a SQLite file, v2 signatures each with a fresh X-AGENT-NONCE;
 * prints the median of five rounds of 2,000 requests per mode after a 2,000-request warm-up
 * (process CPU, all threads, and wall time per request). Where a details read spends its CPU:
 * run it under `node --cpu-prof` (NODE_OPTIONS) and read the profile.
 */
import { randomUUID } from 'node:crypto';
import { inProcessApp, ROOT } from './inprocess-app.mjs';
const { walletAuthHeadersV2 } = await import(`${ROOT}/src/client/wallet-auth.ts`);
const { AGENT_PUBKEY_HEADER, agentKeyPair, encodeAgentPublicKey } = await import(`${ROOT}/src/protocol/sealed.ts`);
const { app, wallets } = await inProcessApp(1000, { DETAILS_NONCES_PER_WINDOW: '1000000000' });
const pubkey = encodeAgentPublicKey(agentKeyPair().publicKey);

function requests(n: number, sealed: boolean) {
  const ts = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => {
    const w = wallets[i % wallets.length]!;
    const url = `/cards/${w.cardId}/details`;
    const headers: Record<string, string> = { ...walletAuthHeadersV2(w.signer, { method: 'GET', url }, { timestamp: ts }), 'X-AGENT-NONCE': randomUUID() };
    if (sealed) headers[AGENT_PUBKEY_HEADER] = pubkey;
    return { url, headers };
  });
}
async function round(n: number, sealed: boolean) {
  const reqs = requests(n, sealed);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const r of reqs) {
    const res = await app.request(r.url, { headers: r.headers });
    if (res.status !== 200) throw new Error(`status ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await round(2000, false);
await round(2000, true);
for (const sealed of [false, true]) {
  const rs = [];
  for (let k = 0; k < 5; k++) rs.push(await round(2000, sealed));
  console.log(`${sealed ? 'sealed' : 'plain '} details: CPU µs/req median ${median(rs.map((r) => r.cpuUs)).toFixed(0)}, wall µs/req median ${median(rs.map((r) => r.wallUs)).toFixed(0)}`);
}
