import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import type { CardDetails } from '../../src/cards/card-data.js';
import { addLedgerEntry, insertCard } from '../../src/cards/repository.js';
import { CardNetworkIndex } from '../../src/cards/spend/network-index.js';
import { walletAuthHeadersV1, walletAuthHeadersV2, type WalletSignOptions } from '../../src/client/wallet-auth.js';
import type { TestApp } from './app.js';

let serial = 0;

/** Distinctive card data, so a leak anywhere (db file, logs) is unambiguous. */
export function sampleDetails(): CardDetails {
  serial += 1;
  const tail = String(100_000 + serial).slice(-6);
  return {
    cardNumber: `4929381726${tail}`,
    expiryMonth: 11,
    expiryYear: 2031,
    cvv: String(700 + (serial % 200)),
    billingAddress: { line1: `${serial} Quetzalcoatl Boulevard`, city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' },
  };
}

export interface SeededCard {
  cardId: string;
  details: CardDetails;
}

/**
 * Creates a card the way paid issuance does (real repository, real cipher): `agent` paid,
 * `owner` defaults to the agent.
 */
export async function seedCard(
  t: TestApp,
  opts: { agent: Keypair; owner?: Keypair; loadCents?: number; nameOnCard?: string; providerRef?: string },
): Promise<SeededCard> {
  const cardId = randomUUID();
  const details = sampleDetails();
  const nowMs = t.clock.nowMs();
  await insertCard(t.db, {
    id: cardId,
    agent_address: opts.agent.publicKey(),
    owner_address: (opts.owner ?? opts.agent).publicKey(),
    name_on_card: opts.nameOnCard ?? 'Ada Agent',
    email: 'ada@example.com',
    status: 'active',
    details_revoked: 0,
    last_four: details.cardNumber.slice(-4),
    details_ciphertext: t.deps.cardCipher.encrypt(cardId, details),
    provider_ref: opts.providerRef ?? `prov_${cardId}`,
    created_at: nowMs,
    updated_at: nowMs,
  });
  const providerRef = opts.providerRef ?? `prov_${cardId}`;
  await new CardNetworkIndex(t.deps.cardCipher).add(t.db, { cardId, providerRef, details, nowMs });
  if (opts.loadCents) {
    await addLedgerEntry(t.db, { cardId, kind: 'initial_load', amountCents: opts.loadCents, paymentId: null, description: 'initial load', nowMs });
  }
  return { cardId, details };
}

export function unixNow(t: TestApp): number {
  return Math.floor(t.clock.nowMs() / 1000);
}

/** v1 headers signed at the test clock's time (or the given one). */
export function v1(t: TestApp, kp: Keypair, opts: WalletSignOptions = {}): Record<string, string> {
  return walletAuthHeadersV1(kp, { timestamp: unixNow(t), ...opts });
}

/** v2 headers for exactly this request, signed at the test clock's time. */
export function v2(
  t: TestApp,
  kp: Keypair,
  method: string,
  path: string,
  opts: WalletSignOptions & { nonce?: string; body?: string } = {},
): Record<string, string> {
  return walletAuthHeadersV2(kp, { method, url: path, body: opts.body }, { timestamp: unixNow(t), ...opts });
}

/** Issue a v2-signed request through the in-process app. */
export async function signedRequest(
  t: TestApp,
  kp: Keypair,
  method: string,
  path: string,
  extra: { headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return t.app.request(path, {
    method,
    body: extra.body,
    headers: { ...v2(t, kp, method, path, { body: extra.body }), ...extra.headers },
  });
}
