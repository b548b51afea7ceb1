import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WALLET_HEADERS } from '../../src/protocol/wallet-auth.js';
import { makeTestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest, v1, v2 } from '../helpers/wallet.js';

/** What a route's path and body may name: the card, and sessions made for it in setup. */
interface Ids {
  cardId: string;
  cardSessionId: string;
  secretsSessionId: string;
}

/**
 * Every wallet-signed route, and whether a v1 signature is single-use on it. `scoped`: the route
 * names a card (or a card session) that another wallet gets `notFound` for; `ok` is the success
 * status (200 unless given); `body` the JSON body it is sent with.
 */
const ROUTES: {
  method: 'GET' | 'POST' | 'DELETE';
  path: (cardId: string, ids?: Ids) => string;
  singleUse: boolean;
  cardScoped: boolean;
  ok?: number;
  notFound?: string;
  body?: (ids: Ids) => string;
}[] = [
  { method: 'GET', path: () => '/cards', singleUse: false, cardScoped: false },
  { method: 'GET', path: () => '/cards?role=owner', singleUse: false, cardScoped: false },
  { method: 'GET', path: (id) => `/cards/${id}`, singleUse: false, cardScoped: true },
  { method: 'GET', path: (id) => `/cards/${id}/details`, singleUse: true, cardScoped: true },
  { method: 'POST', path: (id) => `/cards/${id}/freeze`, singleUse: true, cardScoped: true },
  { method: 'POST', path: (id) => `/cards/${id}/unfreeze`, singleUse: true, cardScoped: true },
  { method: 'POST', path: (id) => `/cards/${id}/revoke-details`, singleUse: true, cardScoped: true },
  { method: 'POST', path: (id) => `/cards/${id}/restore-details`, singleUse: true, cardScoped: true },
  { method: 'GET', path: (id) => `/cards/${id}/transactions`, singleUse: false, cardScoped: true },
  { method: 'GET', path: (id) => `/cards/${id}/balance`, singleUse: false, cardScoped: true },
  { method: 'GET', path: (id) => `/cards/${id}/details-access`, singleUse: false, cardScoped: true },
  { method: 'DELETE', path: (id) => `/cards/${id}`, singleUse: true, cardScoped: true },
  // Card data paths (issue #14).
  { method: 'POST', path: (id) => `/cards/${id}/sessions`, singleUse: true, cardScoped: true, ok: 201, body: () => '{"ttlSeconds":60}' },
  { method: 'GET', path: (_id, ids) => `/card-sessions/${ids?.cardSessionId ?? ':id'}`, singleUse: false, cardScoped: true, notFound: 'CARD_SESSION_NOT_FOUND' },
  { method: 'GET', path: (_id, ids) => `/card-sessions/${ids?.cardSessionId ?? ':id'}/redemptions`, singleUse: false, cardScoped: true, notFound: 'CARD_SESSION_NOT_FOUND' },
  { method: 'POST', path: () => '/cards/secrets/session', singleUse: true, cardScoped: false, ok: 201 },
  { method: 'POST', path: (id) => `/cards/${id}/secrets`, singleUse: true, cardScoped: true, body: (ids) => JSON.stringify({ sessionId: ids.secretsSessionId }) },
  // Signed webhooks (issue 19); the :id routes' ownership is tested in test/webhooks.
  { method: 'GET', path: () => '/webhooks', singleUse: false, cardScoped: false },
  { method: 'POST', path: () => '/webhooks', singleUse: true, cardScoped: false, ok: 201, body: () => JSON.stringify({ url: 'https://hooks.example.com/card402', events: ['card.frozen'] }) },
];
const named = ROUTES.map((r) => ({ ...r, name: `${r.method} ${r.path(':cardId')}` }));

async function setup() {
  const t = await makeTestApp();
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  const json = { 'content-type': 'application/json' };
  const session = await bodyOf(await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{}', headers: json }));
  const secrets = await bodyOf(await signedRequest(t, agent, 'POST', '/cards/secrets/session'));
  const ids: Ids = { cardId: card.cardId, cardSessionId: session.session.id, secretsSessionId: secrets.sessionId };
  return { t, agent, card, ids };
}

/** The request's path and, for routes with a body, the body and its content type. */
function requestFor(route: (typeof ROUTES)[number], ids: Ids) {
  const body = route.body?.(ids);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  return { path: route.path(ids.cardId, ids), body, headers };
}

/** `/cards?role=owner` → `/cards/?role=owner` (ASG's CLI asks for `GET /cards/`). */
const withTrailingSlash = (path: string) => path.replace(/(\?|$)/, '/$1');

const nonceHeader = () => ({ 'X-AGENT-NONCE': randomUUID() });

describe.each(named)('signed route contract: $name', (route) => {
  const ok = route.ok ?? 200;

  it('without wallet headers: 401, and nothing happens', async () => {
    const { t, ids } = await setup();
    const req = requestFor(route, ids);
    const res = await t.app.request(req.path, { method: route.method, body: req.body, headers: { ...req.headers, ...nonceHeader() } });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(401);
    expect(body.code).toBe('UNAUTHORIZED');
  });

  it('with a signature by another key: 401 AUTH_SIGNATURE_INVALID', async () => {
    const { t, agent, ids } = await setup();
    const req = requestFor(route, ids);
    const headers = { ...v1(t, Keypair.random()), [WALLET_HEADERS.address]: agent.publicKey(), ...req.headers, ...nonceHeader() };
    const res = await t.app.request(req.path, { method: route.method, body: req.body, headers });
    expect(res.status).toBe(401);
    expect((await bodyOf(res)).code).toBe('AUTH_SIGNATURE_INVALID');
  });

  it(`with a valid v2 signature by the agent: ${ok}`, async () => {
    const { t, agent, ids } = await setup();
    const req = requestFor(route, ids);
    const res = await signedRequest(t, agent, route.method, req.path, { body: req.body, headers: { ...req.headers, ...nonceHeader() } });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(ok);
  });

  it(route.singleUse ? 'a v1 signature works once for a caller with no client address (same-client re-use: v1-same-second.test.ts)' : 'a v1 signature is re-usable within its window (ASG)', async () => {
    const { t, agent, ids } = await setup();
    const req = requestFor(route, ids);
    const headers = v1(t, agent);
    const first = await t.app.request(req.path, { method: route.method, body: req.body, headers: { ...headers, ...req.headers, ...nonceHeader() } });
    const second = await t.app.request(req.path, { method: route.method, body: req.body, headers: { ...headers, ...req.headers, ...nonceHeader() } });
    expect(first.status, JSON.stringify(await bodyOf(first.clone()))).toBe(ok);
    expect(second.status).toBe(route.singleUse ? 401 : ok);
  });

  it('with a trailing slash: the same route; a v2 signature binds the path as sent, slash and all', async () => {
    const { t, agent, ids } = await setup();
    const req = requestFor(route, ids);
    const slashed = withTrailingSlash(req.path);
    const res = await signedRequest(t, agent, route.method, slashed, { body: req.body, headers: { ...req.headers, ...nonceHeader() } });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(ok);
    // Signed for the path without the slash, sent with it: not the request that was signed.
    const moved = await t.app.request(slashed, {
      method: route.method,
      body: req.body,
      headers: { ...v2(t, agent, route.method, req.path, { body: req.body }), ...req.headers, ...nonceHeader() },
    });
    expect(moved.status).toBe(401);
    expect((await bodyOf(moved)).code).toBe('AUTH_SIGNATURE_INVALID');
  });

  if (route.cardScoped) {
    it(`for another wallet’s card: 404 ${route.notFound ?? 'CARD_NOT_FOUND'}`, async () => {
      const { t, ids } = await setup();
      const req = requestFor(route, ids);
      const res = await signedRequest(t, Keypair.random(), route.method, req.path, { body: req.body, headers: { ...req.headers, ...nonceHeader() } });
      expect(res.status).toBe(404);
      expect((await bodyOf(res)).code).toBe(route.notFound ?? 'CARD_NOT_FOUND');
    });
  }
});
