import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { walletAuthHeadersV1 } from '../../src/client/wallet-auth.js';
import { SAME_CLIENT_REUSE_MS } from '../../src/wallet-auth/replay-store.js';
import { makeTestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, unixNow } from '../helpers/wallet.js';

/**
 * ASG's clients sign `asgcard-auth:<unix seconds>` and re-use it for every call in that second.
 * Over real HTTP (client addresses come from the socket, or from X-Forwarded-For with TRUST_PROXY).
 */
const CLIENT_A = '198.51.100.1';
const CLIENT_B = '203.0.113.9';

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ env });
  const base = await listen(t.app);
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  const headers = walletAuthHeadersV1(agent, { timestamp: unixNow(t) });
  const call = async (method: 'GET' | 'POST', path: string, extra: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { ...headers, ...extra } });
    return { status: res.status, body: await bodyOf(res) };
  };
  return { t, card, call };
}

describe('a v1 signature within its second', () => {
  it('serves ASG’s same-second sequences from one client: get then freeze, unfreeze then freeze, unfreeze, then details once', async () => {
    const { card, call } = await setup();
    const steps: Array<['GET' | 'POST', string, number]> = [
      ['GET', `/cards/${card.cardId}`, 200],
      ['POST', `/cards/${card.cardId}/freeze`, 200],
      ['POST', `/cards/${card.cardId}/unfreeze`, 200],
      ['POST', `/cards/${card.cardId}/freeze`, 200],
      // Card data is released only for an active card (docs/ARCHITECTURE.md, card data gate).
      ['POST', `/cards/${card.cardId}/unfreeze`, 200],
    ];
    for (const [method, path, status] of steps) {
      const r = await call(method, path);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
    }
    const details = await call('GET', `/cards/${card.cardId}/details`, { 'X-AGENT-NONCE': randomUUID() });
    expect(details.status, JSON.stringify(details.body)).toBe(200);
  });

  it('refuses it from another client address (TRUST_PROXY honoured), and after its second', async () => {
    const { t, card, call } = await setup({ TRUST_PROXY: '1' });
    const from = (ip: string) => ({ 'X-Forwarded-For': ip });
    expect((await call('GET', `/cards/${card.cardId}`, from(CLIENT_A))).status).toBe(200);
    const stolen = await call('POST', `/cards/${card.cardId}/freeze`, from(CLIENT_B));
    expect(stolen.status).toBe(401);
    expect(stolen.body.code).toBe('AUTH_REPLAYED');
    const stolenDetails = await call('GET', `/cards/${card.cardId}/details`, { ...from(CLIENT_B), 'X-AGENT-NONCE': randomUUID() });
    expect(stolenDetails.status).toBe(401);
    expect(stolenDetails.body.code).toBe('AUTH_REPLAYED');
    // A plain read stays an ASG bearer within the window, from anyone, as before.
    expect((await call('GET', `/cards/${card.cardId}`, from(CLIENT_B))).status).toBe(200);

    const own = await call('POST', `/cards/${card.cardId}/freeze`, from(CLIENT_A));
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.status).toBe('frozen');

    t.clock.advanceMs(SAME_CLIENT_REUSE_MS);
    const late = await call('POST', `/cards/${card.cardId}/unfreeze`, from(CLIENT_A));
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('AUTH_REPLAYED');
  });

  it('reads details with it once: a second details read by the same client in the same second is refused', async () => {
    const { card, call } = await setup();
    const first = await call('GET', `/cards/${card.cardId}/details`, { 'X-AGENT-NONCE': randomUUID() });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await call('GET', `/cards/${card.cardId}/details`, { 'X-AGENT-NONCE': randomUUID() });
    expect(second.status).toBe(401);
    expect(second.body.code).toBe('AUTH_REPLAYED');
    // A state change in the same second still goes through.
    expect((await call('POST', `/cards/${card.cardId}/freeze`)).status).toBe(200);
  });
});
