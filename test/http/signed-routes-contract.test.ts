import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WALLET_HEADERS } from '../../src/protocol/wallet-auth.js';
import { makeTestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest, v1, v2 } from '../helpers/wallet.js';

/** Every wallet-signed route, and whether a v1 signature is single-use on it. */
const ROUTES: { method: 'GET' | 'POST' | 'DELETE'; path: (cardId: string) => string; singleUse: boolean; cardScoped: boolean }[] = [
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
];
const named = ROUTES.map((r) => ({ ...r, name: `${r.method} ${r.path(':cardId')}` }));

async function setup() {
  const t = await makeTestApp();
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  return { t, agent, card };
}

/** `/cards?role=owner` → `/cards/?role=owner` (ASG's CLI asks for `GET /cards/`). */
const withTrailingSlash = (path: string) => path.replace(/(\?|$)/, '/$1');

const nonceHeader = () => ({ 'X-AGENT-NONCE': randomUUID() });

describe.each(named)('signed route contract: $name', (route) => {
  it('without wallet headers: 401, and nothing happens', async () => {
    const { t, card } = await setup();
    const res = await t.app.request(route.path(card.cardId), { method: route.method, headers: nonceHeader() });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(401);
    expect(body.code).toBe('UNAUTHORIZED');
  });

  it('with a signature by another key: 401 AUTH_SIGNATURE_INVALID', async () => {
    const { t, agent, card } = await setup();
    const headers = { ...v1(t, Keypair.random()), [WALLET_HEADERS.address]: agent.publicKey(), ...nonceHeader() };
    const res = await t.app.request(route.path(card.cardId), { method: route.method, headers });
    expect(res.status).toBe(401);
    expect((await bodyOf(res)).code).toBe('AUTH_SIGNATURE_INVALID');
  });

  it('with a valid v2 signature by the agent: 200', async () => {
    const { t, agent, card } = await setup();
    const res = await signedRequest(t, agent, route.method, route.path(card.cardId), { headers: nonceHeader() });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(200);
  });

  it(route.singleUse ? 'a v1 signature works once for a caller with no client address (same-client re-use: v1-same-second.test.ts)' : 'a v1 signature is re-usable within its window (ASG)', async () => {
    const { t, agent, card } = await setup();
    const headers = v1(t, agent);
    const first = await t.app.request(route.path(card.cardId), { method: route.method, headers: { ...headers, ...nonceHeader() } });
    const second = await t.app.request(route.path(card.cardId), { method: route.method, headers: { ...headers, ...nonceHeader() } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(route.singleUse ? 401 : 200);
  });

  it('with a trailing slash: the same route; a v2 signature binds the path as sent, slash and all', async () => {
    const { t, agent, card } = await setup();
    const plain = route.path(card.cardId);
    const slashed = withTrailingSlash(plain);
    const res = await signedRequest(t, agent, route.method, slashed, { headers: nonceHeader() });
    expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(200);
    // Signed for the path without the slash, sent with it: not the request that was signed.
    const moved = await t.app.request(slashed, { method: route.method, headers: { ...v2(t, agent, route.method, plain), ...nonceHeader() } });
    expect(moved.status).toBe(401);
    expect((await bodyOf(moved)).code).toBe('AUTH_SIGNATURE_INVALID');
  });

  if (route.cardScoped) {
    it('for another wallet’s card: 404 CARD_NOT_FOUND', async () => {
      const { t, card } = await setup();
      const res = await signedRequest(t, Keypair.random(), route.method, route.path(card.cardId), { headers: nonceHeader() });
      expect(res.status).toBe(404);
      expect((await bodyOf(res)).code).toBe('CARD_NOT_FOUND');
    });
  }
});

