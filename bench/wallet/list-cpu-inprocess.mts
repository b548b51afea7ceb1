/**
 * CPU per signed GET /cards inside the app (app.request, no HTTP server, no wrk), for the card402
 * tree at ROOT (default: this one), so two checkouts can be compared with the same script:
 *
 *   ROOT=/path/to/other/checkout npx tsx bench/wallet/list-cpu-inprocess.mts
 *
 * 1,000 wallets with a card each, ASG v1 signatures, 16 requests in flight; prints the median of
 * five rounds of 10,000 requests after a 20,000-request warm-up (process CPU, all threads).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
const ROOT = process.env.ROOT ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const { createApp } = await import(`${ROOT}/src/app.ts`);
const { CardDataCipher } = await import(`${ROOT}/src/cards/card-data.ts`);
const { addLedgerEntry, insertCard } = await import(`${ROOT}/src/cards/repository.ts`);
const { secretSeedSigner, walletAuthHeadersV1 } = await import(`${ROOT}/src/client/wallet-auth.ts`);
const { migrateToLatest, openDatabase } = await import(`${ROOT}/src/db/open.ts`);
const { loadConfig } = await import(`${ROOT}/src/config.ts`);
const { systemClock } = await import(`${ROOT}/src/clock.ts`);
const { createLogger } = await import(`${ROOT}/src/logger.ts`);
const key = randomBytes(32);
const config = loadConfig({ DATA_DIR: '/tmp/nonexistent-x', LOG_LEVEL: 'silent', CARD_DATA_KEY: key.toString('hex'), AUTH_FAILURES_PER_IP_PER_MINUTE: '100000' });
const db = openDatabase(`/tmp/list-cpu-${randomUUID()}.sqlite`);
await migrateToLatest(db);
const cipher = new CardDataCipher(key);
const wallets = [];
const now = Date.now();
for (let i = 0; i < 1000; i++) {
  const signer = secretSeedSigner(Keypair.random().secret());
  const cardId = randomUUID();
  await insertCard(db, { id: cardId, agent_address: signer.publicKey(), owner_address: signer.publicKey(), name_on_card: `B ${i}`, email: `a${i}@b.invalid`, status: 'active', details_revoked: 0, last_four: '1234', details_ciphertext: cipher.encrypt(cardId, { cardNumber: '4000000000000000', expiryMonth: 12, expiryYear: 2030, cvv: '123', billingAddress: { line1: '1', city: 'A', state: 'TX', postalCode: '7', country: 'US' } }), provider_ref: `b${i}`, created_at: now, updated_at: now });
  await addLedgerEntry(db, { cardId, kind: 'initial_load', amountCents: 10_000, paymentId: null, description: 'load', nowMs: now });
  wallets.push(signer);
}
const app = createApp({ config, db, clock: systemClock, logger: createLogger({ level: 'silent' }), paymentTerms: { network: config.stellar.network, asset: config.stellar.usdcContract, payTo: Keypair.random().publicKey(), maxTimeoutSeconds: 60 }, cardCipher: cipher });
const ts = Math.floor(Date.now() / 1000);
const headers = wallets.map((w) => walletAuthHeadersV1(w, { timestamp: ts }));
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
