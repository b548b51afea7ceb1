import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CardDetails } from '../../src/cards/card-data.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest, v2, type SeededCard } from '../helpers/wallet.js';

const HOUR_MS = 3600_000;

async function readDetails(t: TestApp, kp: Keypair, cardId: string, nonce: string | undefined, headers: Record<string, string> = {}) {
  const res = await signedRequest(t, kp, 'GET', `/cards/${cardId}/details`, {
    headers: { ...(nonce === undefined ? {} : { 'X-AGENT-NONCE': nonce }), ...headers },
  });
  return { status: res.status, body: await bodyOf(res), retryAfter: res.headers.get('Retry-After') };
}

/** The details as the API answers them: ours, and ASG's address keys beside them (street, zip). */
function answered(details: CardDetails) {
  const address = details.billingAddress;
  return { ...details, billingAddress: { line1: address.line1, city: address.city, state: address.state, postalCode: address.postalCode, country: address.country, street: address.line1, zip: address.postalCode } };
}

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ env });
  const agent = Keypair.random();
  const owner = Keypair.random();
  const card = await seedCard(t, { agent, owner });
  return { t, agent, owner, card };
}

async function auditOutcomes(t: TestApp, kp: Keypair, card: SeededCard): Promise<string[]> {
  const res = await signedRequest(t, kp, 'GET', `/cards/${card.cardId}/details-access?limit=100`);
  const body = await bodyOf(res);
  return body.attempts.map((a: { outcome: string }) => a.outcome).reverse();
}

describe('GET /cards/:cardId/details', () => {
  it('returns the decrypted details to the agent and to the owner', async () => {
    const { t, agent, owner, card } = await setup();
    for (const kp of [agent, owner]) {
      const r = await readDetails(t, kp, card.cardId, randomUUID());
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toEqual({ details: answered(card.details) });
    }
  });

  it.each([
    ['missing', undefined],
    ['not a uuid', 'nonce-1'],
    ['uuid v1', 'c232ab00-9414-11ec-b3c8-9e6bdeced846'],
    ['uuid v4 with a bad variant', '3b241101-e2bb-4255-c712-4f8e3a3cb9b1'],
    ['uuid with trailing junk', `${randomUUID()}x`],
  ])('400 INVALID_NONCE when the nonce is %s', async (_name, nonce) => {
    const { t, agent, card } = await setup();
    const r = await readDetails(t, agent, card.cardId, nonce);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('INVALID_NONCE');
  });

  it('HEAD is 405 before anything is checked or spent: no nonce, no rate-limit slot, no signature, no audit', async () => {
    const { t, agent, card } = await setup({ DETAILS_NONCES_PER_WINDOW: '1' });
    const path = `/cards/${card.cardId}/details`;
    const nonce = randomUUID();
    const auth = v2(t, agent, 'HEAD', path);
    const head = await t.app.request(path, { method: 'HEAD', headers: { ...auth, 'X-AGENT-NONCE': nonce } });
    expect(head.status).toBe(405);
    expect(head.headers.get('Allow')).toBe('GET');
    // The same nonce still reads the details, and it is the card's one read this window.
    const r = await readDetails(t, agent, card.cardId, nonce);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await auditOutcomes(t, agent, card)).toEqual(['granted']);
  });

  it('409 REPLAY_REJECTED for a nonce already spent on the card, by either party', async () => {
    const { t, agent, owner, card } = await setup();
    const nonce = randomUUID();
    expect((await readDetails(t, agent, card.cardId, nonce)).status).toBe(200);
    const again = await readDetails(t, agent, card.cardId, nonce);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('REPLAY_REJECTED');
    expect((await readDetails(t, owner, card.cardId, nonce.toUpperCase())).status).toBe(409);
    expect(JSON.stringify(again.body)).not.toContain(nonce);
  });

  it('another wallet’s card is 404, same as a missing card, and spends none of its nonces', async () => {
    const { t, agent, card } = await setup();
    const stranger = Keypair.random();
    const sharedNonce = randomUUID();
    const foreign = await readDetails(t, stranger, card.cardId, sharedNonce);
    const missing = await readDetails(t, stranger, randomUUID(), randomUUID());
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual({ error: 'card not found', code: 'CARD_NOT_FOUND' });
    expect(missing.body).toEqual(foreign.body);
    for (let i = 0; i < 10; i++) expect((await readDetails(t, stranger, card.cardId, randomUUID())).status).toBe(404);
    // Stranger attempts neither burned the shared nonce nor the card's hourly allowance.
    expect((await readDetails(t, agent, card.cardId, sharedNonce)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
    expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(429);
  });

  it('checks ownership before revocation, and revocation before the nonce', async () => {
    const { t, agent, owner, card } = await setup();
    const revoke = await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`);
    expect(revoke.status).toBe(200);
    expect((await readDetails(t, Keypair.random(), card.cardId, 'bad')).status).toBe(404);
    const revoked = await readDetails(t, agent, card.cardId, 'bad');
    expect(revoked.status).toBe(403);
    expect(revoked.body.code).toBe('DETAILS_REVOKED');
    // A revoked read spends nothing: the same nonce works once the owner restores.
    const nonce = randomUUID();
    expect((await readDetails(t, agent, card.cardId, nonce)).status).toBe(403);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/restore-details`)).status).toBe(200);
    expect((await readDetails(t, agent, card.cardId, nonce)).status).toBe(200);
  });

  it('a replayed nonce does not count against the hourly limit', async () => {
    const { t, agent, card } = await setup();
    const nonce = randomUUID();
    expect((await readDetails(t, agent, card.cardId, nonce)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await readDetails(t, agent, card.cardId, nonce)).status).toBe(409);
    for (let i = 0; i < 4; i++) expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
  });

  it('10 concurrent requests with one nonce: exactly one 200, the rest 409', async () => {
    const { t, agent, card } = await setup();
    const nonce = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => readDetails(t, agent, card.cardId, nonce)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(409)]);
    const rows = await t.db.selectFrom('card_details_nonces').selectAll().where('card_id', '=', card.cardId).execute();
    expect(rows).toHaveLength(1);
  });

  it('10 concurrent requests with distinct nonces: exactly 5 succeed, 5 are rate limited', async () => {
    const { t, agent, card } = await setup();
    const results = await Promise.all(Array.from({ length: 10 }, () => readDetails(t, agent, card.cardId, randomUUID())));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(200), ...Array(5).fill(429)]);
  });

  it('6th distinct nonce in a rolling hour is 429 with Retry-After; allowed again once the oldest leaves the window', async () => {
    const { t, agent, card } = await setup();
    for (let i = 0; i < 5; i++) {
      expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
      t.clock.advanceMs(60_000);
    }
    // Now 300 s after the first spend.
    const sixth = await readDetails(t, agent, card.cardId, randomUUID());
    expect(sixth.status, JSON.stringify(sixth.body)).toBe(429);
    expect(sixth.body.code).toBe('DETAILS_RATE_LIMITED');
    expect(sixth.retryAfter).toBe('3300');
    expect(sixth.body.retryAfter).toBe(3300);

    t.clock.advanceMs(3_299_000);
    const almost = await readDetails(t, agent, card.cardId, randomUUID());
    expect(almost.status).toBe(429);
    expect(almost.retryAfter).toBe('1');
    t.clock.advanceMs(1000); // exactly one hour after the first spend
    expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
    const next = await readDetails(t, agent, card.cardId, randomUUID());
    expect(next.status).toBe(429);
    expect(next.retryAfter).toBe('60'); // the second spend leaves the window a minute later
  });

  it('the limit is per card: another card of the same wallet is unaffected', async () => {
    const { t, agent, card } = await setup();
    const second = await seedCard(t, { agent });
    for (let i = 0; i < 5; i++) await readDetails(t, agent, card.cardId, randomUUID());
    expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(429);
    expect((await readDetails(t, agent, second.cardId, randomUUID())).status).toBe(200);
  });

  it('the holder cannot lock the owner out: each party has its own allowance, and the owner’s is limited too', async () => {
    const { t, agent: holder, owner, card } = await setup();
    for (let i = 0; i < 5; i++) {
      expect((await readDetails(t, holder, card.cardId, randomUUID())).status).toBe(200);
      t.clock.advanceMs(60_000);
    }
    const holderSixth = await readDetails(t, holder, card.cardId, randomUUID());
    expect(holderSixth.status, JSON.stringify(holderSixth.body)).toBe(429);
    expect(holderSixth.body.code).toBe('DETAILS_RATE_LIMITED');

    // The owner still reads, five times, and its own Retry-After counts from its own first read.
    for (let i = 0; i < 5; i++) {
      const r = await readDetails(t, owner, card.cardId, randomUUID());
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toEqual({ details: answered(card.details) });
    }
    const ownerSixth = await readDetails(t, owner, card.cardId, randomUUID());
    expect(ownerSixth.status, JSON.stringify(ownerSixth.body)).toBe(429);
    expect(ownerSixth.retryAfter).toBe('3600');
    // The holder's window moves on its own clock: its first read frees a slot 3300 s from now.
    expect((await readDetails(t, holder, card.cardId, randomUUID())).retryAfter).toBe('3300');
    expect(await auditOutcomes(t, owner, card)).toEqual([
      ...Array(5).fill('granted'),
      'rate_limited',
      ...Array(5).fill('granted'),
      'rate_limited',
      'rate_limited',
    ]);
  });

  it('the owner using up its allowance does not block the holder', async () => {
    const { t, agent: holder, owner, card } = await setup();
    for (let i = 0; i < 5; i++) expect((await readDetails(t, owner, card.cardId, randomUUID())).status).toBe(200);
    expect((await readDetails(t, owner, card.cardId, randomUUID())).status).toBe(429);
    expect((await readDetails(t, holder, card.cardId, randomUUID())).status).toBe(200);
  });

  it('20 concurrent reads with distinct nonces, 10 by each party: exactly 5 succeed for each', async () => {
    const { t, agent: holder, owner, card } = await setup();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => readDetails(t, i % 2 === 0 ? holder : owner, card.cardId, randomUUID()).then((r) => ({ ...r, who: i % 2 === 0 ? 'holder' : 'owner' }))),
    );
    for (const who of ['holder', 'owner']) {
      const statuses = results.filter((r) => r.who === who).map((r) => r.status).sort();
      expect(statuses, who).toEqual([...Array(5).fill(200), ...Array(5).fill(429)]);
    }
  });

  it('limits and nonce retention are configurable', async () => {
    const { t, agent, card } = await setup({ DETAILS_NONCES_PER_WINDOW: '2', DETAILS_WINDOW_SECONDS: '60', DETAILS_NONCE_RETENTION_SECONDS: '120' });
    const first = randomUUID();
    expect((await readDetails(t, agent, card.cardId, first)).status).toBe(200);
    expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
    const third = await readDetails(t, agent, card.cardId, randomUUID());
    expect(third.status).toBe(429);
    expect(third.retryAfter).toBe('60');
    t.clock.advanceMs(90_000); // out of the window, still retained
    expect((await readDetails(t, agent, card.cardId, first)).status).toBe(409);
    expect((await readDetails(t, agent, card.cardId, randomUUID())).status).toBe(200);
    t.clock.advanceMs(HOUR_MS); // long past retention: spent nonces are purged
    const count = await t.db.selectFrom('card_details_nonces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await readDetails(t, agent, card.cardId, randomUUID()); // triggers the purge
    const after = await t.db.selectFrom('card_details_nonces').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(3);
    expect(Number(after.n)).toBe(1);
  });
});

describe('GET /cards/:cardId/details-access', () => {
  it('audits every attempt on the card with time, wallet, IP, user agent and outcome — never card data or nonces', async () => {
    const { t, agent, owner, card } = await setup({ TRUST_PROXY: 'true' });
    const stranger = Keypair.random();
    const ua = { 'User-Agent': 'agent-sdk/1.0', 'X-Forwarded-For': '203.0.113.9' };
    const nonce = randomUUID();
    await readDetails(t, agent, card.cardId, nonce, ua);
    await readDetails(t, agent, card.cardId, nonce, ua);
    await readDetails(t, agent, card.cardId, 'nope', ua);
    await readDetails(t, stranger, card.cardId, randomUUID(), { 'User-Agent': 'curl/8', 'X-Forwarded-For': '198.51.100.7' });
    await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`);
    await readDetails(t, agent, card.cardId, randomUUID(), ua);

    const res = await signedRequest(t, owner, 'GET', `/cards/${card.cardId}/details-access`);
    const body = await bodyOf(res);
    expect(res.status).toBe(200);
    expect(body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['revoked', 'not_authorized', 'invalid_nonce', 'replayed', 'granted']);
    expect(body.attempts[4]).toEqual({
      time: new Date(t.clock.nowMs()).toISOString(),
      wallet: agent.publicKey(),
      ip: '203.0.113.9',
      userAgent: 'agent-sdk/1.0',
      outcome: 'granted',
      path: 'details',
    });
    expect(body.attempts[1]).toMatchObject({ wallet: stranger.publicKey(), ip: '198.51.100.7', userAgent: 'curl/8' });
    const text = JSON.stringify(body);
    expect(text).not.toContain(nonce);
    expect(text).not.toContain(card.details.cardNumber);
    // The agent sees the same audit.
    expect(await auditOutcomes(t, agent, card)).toEqual(['granted', 'replayed', 'invalid_nonce', 'not_authorized', 'revoked']);
  });

  it('pages newest first', async () => {
    const { t, agent, card } = await setup();
    for (let i = 0; i < 3; i++) await readDetails(t, agent, card.cardId, randomUUID());
    const first = await bodyOf(await signedRequest(t, agent, 'GET', `/cards/${card.cardId}/details-access?limit=2`));
    expect(first.attempts).toHaveLength(2);
    const second = await bodyOf(await signedRequest(t, agent, 'GET', `/cards/${card.cardId}/details-access?limit=2&cursor=${first.nextCursor}`));
    expect(second.attempts).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
  });
});

describe('details access audit stays bounded against wallets that are not a party', () => {
  const NOT_FOUND = { error: 'card not found', code: 'CARD_NOT_FOUND' };

  async function audit(t: TestApp, kp: Keypair, card: SeededCard) {
    const body = await bodyOf(await signedRequest(t, kp, 'GET', `/cards/${card.cardId}/details-access?limit=100`));
    return {
      attempts: body.attempts as Array<{ outcome: string; wallet: string }>,
      unlisted: body.unlistedRefusals as { attempts: number; firstAt: string | null; lastAt: string | null },
    };
  }

  const accessRows = async (t: TestApp) =>
    Number((await t.db.selectFrom('card_details_access').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('a stranger’s attempts beyond 10 an hour are counted, not itemized: the table stops growing, the answer stays the same 404, the card loses nothing', async () => {
    const { t, agent, owner, card } = await setup();
    const stranger = Keypair.random();
    const firstAt = new Date(t.clock.nowMs()).toISOString();
    for (let i = 0; i < 200; i++) {
      const r = await readDetails(t, stranger, card.cardId, randomUUID());
      expect(r.status).toBe(404);
      expect(r.body, `attempt ${i}`).toEqual(NOT_FOUND);
      t.clock.advanceMs(1000);
    }
    const lastAt = new Date(t.clock.nowMs() - 1000).toISOString();
    expect(await accessRows(t)).toBe(10);
    expect(await t.db.selectFrom('card_details_refusals').selectAll().execute()).toHaveLength(1); // one counter for the hour

    const seen = await audit(t, owner, card);
    expect(seen.attempts.map((a) => [a.outcome, a.wallet])).toEqual(Array(10).fill(['not_authorized', stranger.publicKey()]));
    expect(seen.unlisted).toEqual({ attempts: 190, firstAt: new Date(Date.parse(firstAt) + 10_000).toISOString(), lastAt });
    expect(await audit(t, agent, card)).toEqual(seen);

    // Nothing of the card was used: both parties still have all their reads.
    for (const kp of [agent, owner]) {
      for (let i = 0; i < 5; i++) expect((await readDetails(t, kp, card.cardId, randomUUID())).status).toBe(200);
    }
  });

  it('the cap is per wallet across cards, and a rolling hour: an hour later the wallet is itemized again', async () => {
    const { t, card } = await setup();
    const otherOwner = Keypair.random();
    const otherCard = await seedCard(t, { agent: otherOwner });
    const stranger = Keypair.random();
    for (let i = 0; i < 10; i++) expect((await readDetails(t, stranger, card.cardId, randomUUID())).body).toEqual(NOT_FOUND);
    expect((await readDetails(t, stranger, otherCard.cardId, randomUUID())).body).toEqual(NOT_FOUND);
    let seen = await audit(t, otherOwner, otherCard);
    expect(seen.attempts).toEqual([]);
    expect(seen.unlisted.attempts).toBe(1);

    // Another wallet is itemized on the same card.
    const second = Keypair.random();
    expect((await readDetails(t, second, otherCard.cardId, randomUUID())).status).toBe(404);
    t.clock.advanceMs(3_600_000);
    expect((await readDetails(t, stranger, otherCard.cardId, randomUUID())).status).toBe(404);
    seen = await audit(t, otherOwner, otherCard);
    expect(seen.attempts.map((a) => a.wallet)).toEqual([stranger.publicKey(), second.publicKey()]);
    expect(seen.unlisted.attempts).toBe(1);
  });

  it('the cap is per card across wallets (wallets cost nothing to make): at most 30 itemized refusals per card per hour', async () => {
    const { t, owner, card } = await setup();
    const strangers = Array.from({ length: 4 }, () => Keypair.random());
    for (const kp of strangers) {
      for (let i = 0; i < 10; i++) expect((await readDetails(t, kp, card.cardId, randomUUID())).body).toEqual(NOT_FOUND);
    }
    const seen = await audit(t, owner, card);
    expect(seen.attempts).toHaveLength(30);
    expect(new Set(seen.attempts.map((a) => a.wallet))).toEqual(new Set(strangers.slice(0, 3).map((kp) => kp.publicKey())));
    expect(seen.unlisted.attempts).toBe(10);
  });

  it('the parties’ own attempts are always itemized', async () => {
    const { t, agent, owner, card } = await setup();
    const stranger = Keypair.random();
    for (let i = 0; i < 12; i++) await readDetails(t, stranger, card.cardId, randomUUID());
    await readDetails(t, agent, card.cardId, 'not-a-uuid');
    await readDetails(t, owner, card.cardId, randomUUID());
    const seen = await audit(t, owner, card);
    expect(seen.attempts.slice(0, 2).map((a) => [a.outcome, a.wallet])).toEqual([
      ['granted', owner.publicKey()],
      ['invalid_nonce', agent.publicKey()],
    ]);
    expect(seen.unlisted.attempts).toBe(2);
  });

  it('a card with no unlisted refusals says so', async () => {
    const { t, agent, card } = await setup();
    expect((await audit(t, agent, card)).unlisted).toEqual({ attempts: 0, firstAt: null, lastAt: null });
  });
});
