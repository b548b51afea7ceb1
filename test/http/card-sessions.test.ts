import { Keypair } from '@stellar/stellar-sdk';
import { randomBytes, randomUUID } from 'node:crypto';
import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import type { CardDetails } from '../../src/cards/card-data.js';
import { RedeemTokens } from '../../src/cards/sessions/redeem-tokens.js';
import { sweepSessions } from '../../src/cards/sessions/sweeper.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { listen } from '../helpers/listen.js';
import { seedCard, signedRequest, v2 } from '../helpers/wallet.js';

function answered(details: CardDetails) {
  const a = details.billingAddress;
  return { ...details, billingAddress: { ...a, street: a.line1, zip: a.postalCode } };
}

async function setup(env: Record<string, string> = {}, overrides: Parameters<typeof makeTestApp>[0] = {}) {
  const t = await makeTestApp({ env, ...overrides });
  const agent = Keypair.random();
  const owner = Keypair.random();
  const card = await seedCard(t, { agent, owner });
  return { t, agent, owner, card };
}

async function createSession(t: TestApp, kp: Keypair, cardId: string, body: Record<string, unknown> = {}) {
  const res = await signedRequest(t, kp, 'POST', `/cards/${cardId}/sessions`, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await bodyOf(res) };
}

async function redeem(t: TestApp, sessionId: string, token: string | undefined, headers: Record<string, string> = {}) {
  const res = await t.app.request(`/card-sessions/${sessionId}/redeem`, { method: 'POST', headers: { ...(token === undefined ? {} : { 'X-Scoped-Token': token }), ...headers } });
  return { status: res.status, body: await bodyOf(res) };
}

async function audit(t: TestApp, kp: Keypair, cardId: string): Promise<{ outcome: string; path: string; wallet: string }[]> {
  const res = await signedRequest(t, kp, 'GET', `/cards/${cardId}/details-access?limit=100`);
  return (await bodyOf(res)).attempts.reverse();
}

function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

describe('POST /cards/:cardId/sessions', () => {
  it('201 with the session (Flowglad defaults) and an HS256 token scoped to the card, for the holder and for the owner', async () => {
    const { t, agent, owner, card } = await setup();
    for (const kp of [agent, owner]) {
      const r = await createSession(t, kp, card.cardId);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const { session, redeemToken } = r.body;
      expect(session).toEqual({
        id: expect.stringMatching(/^cs_[0-9a-f]{32}$/),
        cardId: card.cardId,
        status: 'active',
        maxRedeemCount: 1,
        redeemCount: 0,
        expiresAt: new Date(t.clock.nowMs() + 300_000).toISOString(),
        createdAt: new Date(t.clock.nowMs()).toISOString(),
        updatedAt: new Date(t.clock.nowMs()).toISOString(),
      });
      expect(JSON.parse(Buffer.from(redeemToken.split('.')[0], 'base64url').toString())).toMatchObject({ alg: 'HS256' });
      expect(decodeClaims(redeemToken)).toEqual({
        scope: `card-session:redeem:${card.cardId}`,
        sub: kp.publicKey(),
        jti: session.id,
        iat: Math.floor(t.clock.nowMs() / 1000),
        exp: Math.floor(t.clock.nowMs() / 1000) + 300,
      });
    }
  });

  it.each([
    [{ ttlSeconds: 29 }],
    [{ ttlSeconds: 3601 }],
    [{ ttlSeconds: 60.5 }],
    [{ maxRedeemCount: 0 }],
    [{ maxRedeemCount: 11 }],
    [{ ttlSeconds: '300' }],
  ])('400 VALIDATION_ERROR for %j', async (body) => {
    const { t, agent, card } = await setup();
    const r = await createSession(t, agent, card.cardId, body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('VALIDATION_ERROR');
  });

  it('404 for a stranger (as for a missing card); 403 on a revoked card; 409 on a frozen card', async () => {
    const { t, agent, owner, card } = await setup();
    expect((await createSession(t, Keypair.random(), card.cardId)).body).toEqual({ error: 'card not found', code: 'CARD_NOT_FOUND' });
    expect((await createSession(t, agent, randomUUID())).status).toBe(404);
    expect((await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/freeze`)).status).toBe(200);
    const frozen = await createSession(t, agent, card.cardId);
    expect(frozen.status).toBe(409);
    expect(frozen.body.code).toBe('CARD_NOT_ACTIVE');
    expect((await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/unfreeze`)).status).toBe(200);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`)).status).toBe(200);
    const revoked = await createSession(t, agent, card.cardId);
    expect(revoked.status).toBe(403);
    expect(revoked.body.code).toBe('DETAILS_REVOKED');
  });
});

describe('POST /card-sessions/:id/redeem', () => {
  it('with the token alone: the details, the session redeemed, a redemption with the IP, an audit row with path redeem', async () => {
    const { t, agent, card } = await setup({ TRUST_PROXY: '1' });
    const { session, redeemToken } = (await createSession(t, agent, card.cardId)).body;
    const r = await redeem(t, session.id, redeemToken, { 'X-Forwarded-For': '203.0.113.40' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.details).toEqual(answered(card.details));
    expect(r.body.session).toMatchObject({ id: session.id, status: 'redeemed', redeemCount: 1 });

    const redemptions = await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}/redemptions`));
    expect(redemptions).toEqual({ sessionId: session.id, redemptions: [{ id: expect.any(String), ipAddress: '203.0.113.40', redeemedAt: new Date(t.clock.nowMs()).toISOString() }] });
    expect(await audit(t, agent, card.cardId)).toEqual([expect.objectContaining({ outcome: 'granted', path: 'redeem', wallet: agent.publicKey(), ip: '203.0.113.40' })]);

    const again = await redeem(t, session.id, redeemToken);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'CARD_SESSION_NOT_REDEEMABLE', status: 'redeemed' });
    expect(JSON.stringify(again.body)).not.toContain(redeemToken);
  });

  it('maxRedeemCount 3: three redemptions, then 409; GET shows the count', async () => {
    const { t, agent, card } = await setup();
    const { session, redeemToken } = (await createSession(t, agent, card.cardId, { maxRedeemCount: 3 })).body;
    for (let i = 1; i <= 3; i++) {
      const r = await redeem(t, session.id, redeemToken);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.session).toMatchObject({ redeemCount: i, status: i === 3 ? 'redeemed' : 'active' });
    }
    expect((await redeem(t, session.id, redeemToken)).status).toBe(409);
    const got = await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}`));
    expect(got.session).toMatchObject({ redeemCount: 3, status: 'redeemed', maxRedeemCount: 3 });
  });

  it.each([
    ['missing', undefined, 401, 'SCOPED_TOKEN_MISSING'],
    ['not a JWT', 'not-a-token', 401, 'SCOPED_TOKEN_INVALID'],
    ['empty', ' ', 401, 'SCOPED_TOKEN_MISSING'],
  ])('%s token: %i %s', async (_name, token, status, code) => {
    const { t, agent, card } = await setup();
    const { session } = (await createSession(t, agent, card.cardId)).body;
    const r = await redeem(t, session.id, token);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.body.code).toBe(code);
    expect(await audit(t, agent, card.cardId)).toEqual([]);
  });

  it('a token signed with another secret, or altered, is 401 and touches nothing', async () => {
    const { t, agent, card } = await setup();
    const { session, redeemToken } = (await createSession(t, agent, card.cardId)).body;
    const forged = await new RedeemTokens({ current: randomBytes(32) }).sign({ sessionId: session.id, cardId: card.cardId, wallet: agent.publicKey(), issuedAtMs: t.clock.nowMs(), expiresAtMs: t.clock.nowMs() + 60_000 });
    expect((await redeem(t, session.id, forged)).body.code).toBe('SCOPED_TOKEN_INVALID');
    const [h, p, s] = redeemToken.split('.');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'AB' : 'AA'}`;
    expect((await redeem(t, session.id, flipped)).body.code).toBe('SCOPED_TOKEN_INVALID');
    // alg "none" is refused.
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    expect((await redeem(t, session.id, none)).body.code).toBe('SCOPED_TOKEN_INVALID');
    // The real token still works: nothing was spent.
    expect((await redeem(t, session.id, redeemToken)).status).toBe(200);
  });

  it('a token minted with the real secret for an existing session, but not the one issued, opens nothing (only its hash is stored)', async () => {
    const secret = randomBytes(32);
    const { t, agent, card } = await setup({}, { redeemTokens: new RedeemTokens({ current: secret }) });
    const { session } = (await createSession(t, agent, card.cardId)).body;
    const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const minted = await sign({ scope: `card-session:redeem:${card.cardId}`, sub: agent.publicKey(), jti: session.id, iat: 1, exp: Math.floor(t.clock.nowMs() / 1000) + 60 }, key, 'HS256');
    const r = await redeem(t, session.id, minted);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('SCOPED_TOKEN_INVALID');
  });

  it('a token for one session (or card) never opens another: 403 scope mismatch, and the other session is untouched', async () => {
    const { t, agent, card } = await setup();
    const other = await seedCard(t, { agent });
    const a = (await createSession(t, agent, card.cardId)).body;
    const b = (await createSession(t, agent, other.cardId)).body;
    const r = await redeem(t, b.session.id, a.redeemToken);
    expect(r.status, JSON.stringify(r.body)).toBe(403);
    expect(r.body.code).toBe('SCOPED_TOKEN_SCOPE_MISMATCH');
    expect(await audit(t, agent, other.cardId)).toEqual([]);
    const ok = await redeem(t, b.session.id, b.redeemToken);
    expect(ok.body.details).toEqual(answered(other.details));
  });

  it('404 for an unknown session whose token claims it (minted with the secret)', async () => {
    const secret = randomBytes(32);
    const tokens = new RedeemTokens({ current: secret });
    const { t, agent, card } = await setup({}, { redeemTokens: tokens });
    const id = `cs_${randomBytes(16).toString('hex')}`;
    const token = await tokens.sign({ sessionId: id, cardId: card.cardId, wallet: agent.publicKey(), issuedAtMs: t.clock.nowMs(), expiresAtMs: t.clock.nowMs() + 60_000 });
    const r = await redeem(t, id, token);
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('CARD_SESSION_NOT_FOUND');
  });

  it('the same guards as details: revoked 403, frozen 409, both audited with path redeem; nothing spent', async () => {
    const { t, agent, owner, card } = await setup();
    const { session, redeemToken } = (await createSession(t, agent, card.cardId)).body;
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`)).status).toBe(200);
    expect((await redeem(t, session.id, redeemToken)).body.code).toBe('DETAILS_REVOKED');
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/restore-details`)).status).toBe(200);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/freeze`)).status).toBe(200);
    const frozen = await redeem(t, session.id, redeemToken);
    expect(frozen.status).toBe(409);
    expect(frozen.body.code).toBe('CARD_NOT_ACTIVE');
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/unfreeze`)).status).toBe(200);
    expect((await redeem(t, session.id, redeemToken)).status).toBe(200);
    expect((await audit(t, agent, card.cardId)).map((a) => [a.path, a.outcome])).toEqual([
      ['redeem', 'revoked'],
      ['redeem', 'card_inactive'],
      ['redeem', 'granted'],
    ]);
  });

  it('every path counts against one hourly limit per wallet: details, redemptions and secrets together', async () => {
    const { t, agent, card } = await setup({ DETAILS_NONCES_PER_WINDOW: '3' });
    const detailsOk = await signedRequest(t, agent, 'GET', `/cards/${card.cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID() } });
    expect(detailsOk.status).toBe(200);
    const { session, redeemToken } = (await createSession(t, agent, card.cardId, { maxRedeemCount: 5 })).body;
    expect((await redeem(t, session.id, redeemToken)).status).toBe(200);
    const secretsSession = await bodyOf(await signedRequest(t, agent, 'POST', '/cards/secrets/session'));
    const secretsBody = JSON.stringify({ sessionId: secretsSession.sessionId });
    const secrets = await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/secrets`, { body: secretsBody, headers: { 'content-type': 'application/json' } });
    expect(secrets.status, JSON.stringify(await bodyOf(secrets.clone()))).toBe(200);
    // Three taken: every path is now refused for this wallet on this card.
    const limited = await redeem(t, session.id, redeemToken);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('DETAILS_RATE_LIMITED');
    const details = await signedRequest(t, agent, 'GET', `/cards/${card.cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID() } });
    expect(details.status).toBe(429);
    // A refused redemption used nothing of the session.
    expect((await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}`))).session.redeemCount).toBe(1);
    t.clock.advanceMs(3_600_001);
    expect((await redeem(t, session.id, redeemToken)).status).toBe(409); // expired meanwhile (TTL 300 s)
    expect((await audit(t, agent, card.cardId)).map((a) => `${a.path}:${a.outcome}`)).toEqual([
      'details:granted',
      'redeem:granted',
      'secrets:granted',
      'redeem:rate_limited',
      'details:rate_limited',
      'redeem:session_unusable',
    ]);
  });
});

describe('card session lifecycle (manual clock) and the sweeper', () => {
  it('active → expired at its TTL → scrubbed by the sweeper; a scrubbed session can never be redeemed', async () => {
    const { t, agent, card } = await setup();
    const { session, redeemToken } = (await createSession(t, agent, card.cardId, { ttlSeconds: 30, maxRedeemCount: 2 })).body;
    t.clock.advanceMs(29_999);
    expect((await redeem(t, session.id, redeemToken)).status).toBe(200);
    t.clock.advanceMs(1);
    const expired = await redeem(t, session.id, redeemToken);
    expect(expired.status).toBe(409);
    expect(expired.body.status).toBe('expired');
    expect((await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}`))).session.status).toBe('expired');

    expect(await sweepSessions({ db: t.db, clock: t.clock })).toMatchObject({ cardSessionsExpired: 1, cardSessionsScrubbed: 1 });
    const row = await t.db.selectFrom('card_sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'scrubbed', token_hash: null, redeem_count: 1 });
    const scrubbed = await redeem(t, session.id, redeemToken);
    expect(scrubbed.status).toBe(409);
    expect(scrubbed.body.status).toBe('scrubbed');
    // Turning the clock back does not bring it back.
    t.clock.advanceMs(-60_000);
    expect((await redeem(t, session.id, redeemToken)).body.status).toBe('scrubbed');
    // The redemption history stays.
    expect((await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}/redemptions`))).redemptions).toHaveLength(1);
  });

  it('redeemed sessions are scrubbed by the next sweep; active ones are left alone', async () => {
    const { t, agent, card } = await setup();
    const used = (await createSession(t, agent, card.cardId)).body;
    const waiting = (await createSession(t, agent, card.cardId)).body;
    expect((await redeem(t, used.session.id, used.redeemToken)).status).toBe(200);
    expect(await sweepSessions({ db: t.db, clock: t.clock })).toEqual({ cardSessionsExpired: 0, cardSessionsScrubbed: 1, secretsSessionsExpired: 0, secretsSessionsScrubbed: 0 });
    expect((await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${used.session.id}`))).session.status).toBe('scrubbed');
    expect((await redeem(t, waiting.session.id, waiting.redeemToken)).status).toBe(200);
  });
});

describe('GET /card-sessions/:id and /redemptions', () => {
  it('the card’s holder and owner see it; a stranger gets 404 as for a missing session', async () => {
    const { t, agent, owner, card } = await setup();
    const { session } = (await createSession(t, agent, card.cardId)).body;
    for (const kp of [agent, owner]) {
      const res = await signedRequest(t, kp, 'GET', `/card-sessions/${session.id}`);
      expect(res.status).toBe(200);
      expect((await bodyOf(res)).session).toEqual(session);
    }
    for (const path of [`/card-sessions/${session.id}`, `/card-sessions/${session.id}/redemptions`, `/card-sessions/cs_${'0'.repeat(32)}`, '/card-sessions/nope']) {
      const res = await signedRequest(t, Keypair.random(), 'GET', path);
      expect(res.status, path).toBe(404);
      expect(await bodyOf(res)).toEqual({ error: 'card session not found', code: 'CARD_SESSION_NOT_FOUND' });
    }
  });
});

describe('redeem token secret rotation', () => {
  it('a token signed with the previous secret still redeems; new tokens use the new secret; a token of a retired secret is refused', async () => {
    const old = randomBytes(32);
    const next = randomBytes(32);
    const t = await makeTestApp({ redeemTokens: new RedeemTokens({ current: old }) });
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const before = (await createSession(t, agent, card.cardId, { maxRedeemCount: 2 })).body;

    // Rotate: same database, a new app whose current secret is `next` and previous `old`.
    const rotated = await makeTestApp({ db: t.db, cardCipher: t.deps.cardCipher, redeemTokens: new RedeemTokens({ current: next, previous: old }) });
    rotated.clock.set(t.clock.nowMs());
    expect((await redeem(rotated, before.session.id, before.redeemToken)).status).toBe(200);
    const after = (await createSession(rotated, agent, card.cardId)).body;
    expect(await new RedeemTokens({ current: next }).verify(after.redeemToken)).not.toBeNull();
    expect(await new RedeemTokens({ current: old }).verify(after.redeemToken)).toBeNull();

    // The previous secret removed: its tokens no longer verify.
    const retired = await makeTestApp({ db: t.db, cardCipher: t.deps.cardCipher, redeemTokens: new RedeemTokens({ current: next }) });
    retired.clock.set(t.clock.nowMs());
    expect((await redeem(retired, before.session.id, before.redeemToken)).body.code).toBe('SCOPED_TOKEN_INVALID');
    expect((await redeem(retired, after.session.id, after.redeemToken)).status).toBe(200);
  });
});

describe('concurrency over real HTTP', () => {
  it('of 20 concurrent redeems of a one-use session exactly one succeeds; the others are 409', async () => {
    const { t, agent, card } = await setup();
    const { session, redeemToken } = (await createSession(t, agent, card.cardId)).body;
    const base = await listen(t.app);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${base}/card-sessions/${session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': redeemToken } })),
    );
    const statuses = responses.map((r) => r.status).sort();
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { details?: { cardNumber: string } }[];
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(bodies.filter((b) => b.details?.cardNumber === card.details.cardNumber)).toHaveLength(1);
    const redemptions = await bodyOf(await signedRequest(t, agent, 'GET', `/card-sessions/${session.id}/redemptions`));
    expect(redemptions.redemptions).toHaveLength(1);
  });
});

describe('the signed routes of card sessions', () => {
  it('a v2 signature for one card’s session creation cannot create one on another card', async () => {
    const { t, agent, card } = await setup();
    const other = await seedCard(t, { agent });
    const body = '{}';
    const headers = { ...v2(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body }), 'content-type': 'application/json' };
    const res = await t.app.request(`/cards/${other.cardId}/sessions`, { method: 'POST', body, headers });
    expect(res.status).toBe(401);
  });
});
