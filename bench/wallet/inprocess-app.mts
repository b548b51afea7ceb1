/**
 * The app the in-process wallet benches drive (app.request, no HTTP server): the card402 tree at
 * ROOT (default: this one, so two checkouts can be compared with the same script), a fresh SQLite
 * file and `count` wallets with one $100 card each, encrypted with the real cipher.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';

export const ROOT = process.env.ROOT ?? new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export async function inProcessApp(count: number, env: Record<string, string> = {}) {
  const { createApp } = await import(`${ROOT}/src/app.ts`);
  const { CardDataCipher } = await import(`${ROOT}/src/cards/card-data.ts`);
  const { addLedgerEntry, insertCard } = await import(`${ROOT}/src/cards/repository.ts`);
  const { secretSeedSigner } = await import(`${ROOT}/src/client/wallet-auth.ts`);
  const { migrateToLatest, openDatabase } = await import(`${ROOT}/src/db/open.ts`);
  const { loadConfig } = await import(`${ROOT}/src/config.ts`);
  const { systemClock } = await import(`${ROOT}/src/clock.ts`);
  const { createLogger } = await import(`${ROOT}/src/logger.ts`);
  const key = randomBytes(32);
  const config = loadConfig({ DATA_DIR: '/tmp/nonexistent-x', LOG_LEVEL: 'silent', CARD_DATA_KEY: key.toString('hex'), AUTH_FAILURES_PER_IP_PER_MINUTE: '100000', ...env });
  const db = openDatabase(`/tmp/inprocess-bench-${randomUUID()}.sqlite`);
  await migrateToLatest(db);
  const cipher = new CardDataCipher(key);
  const wallets: { signer: ReturnType<typeof secretSeedSigner>; cardId: string }[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const signer = secretSeedSigner(Keypair.random().secret());
    const cardId = randomUUID();
    const details = { cardNumber: '4000000000000000', expiryMonth: 12, expiryYear: 2030, cvv: '123', billingAddress: { line1: '1', city: 'A', state: 'TX', postalCode: '7', country: 'US' } };
    await insertCard(db, { id: cardId, agent_address: signer.publicKey(), owner_address: signer.publicKey(), name_on_card: `B ${i}`, email: `a${i}@b.invalid`, status: 'active', details_revoked: 0, last_four: '1234', details_ciphertext: cipher.encrypt(cardId, details), provider_ref: `b${i}`, created_at: now, updated_at: now });
    await addLedgerEntry(db, { cardId, kind: 'initial_load', amountCents: 10_000, paymentId: null, description: 'load', nowMs: now });
    wallets.push({ signer, cardId });
  }
  const app = createApp({ config, db, clock: systemClock, logger: createLogger({ level: 'silent' }), paymentTerms: { network: config.stellar.network, asset: config.stellar.usdcContract, payTo: Keypair.random().publicKey(), maxTimeoutSeconds: 60 }, cardCipher: cipher });
  return { app, wallets };
}
