import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { walletAuthHeadersV1, walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { WALLET_HEADERS } from '../../src/protocol/wallet-auth.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, unixNow, v1, v2 } from '../helpers/wallet.js';

async function setup() {
  const t = await makeTestApp();
  const agent = Keypair.random();
  const card = await seedCard(t, { agent });
  return { t, agent, card };
}

async function expectStatus(res: Response, status: number, code?: string) {
  const body = await bodyOf(res);
  expect(res.status, JSON.stringify(body)).toBe(status);
  if (code) expect(body.code, JSON.stringify(body)).toBe(code);
  return body;
}

describe('wallet auth: accepted signatures', () => {
  it('v1 raw (ASG): GET /cards lists the wallet’s card', async () => {
    const { t, agent, card } = await setup();
    const body = await expectStatus(await t.app.request('/cards', { headers: v1(t, agent) }), 200);
    expect(body.cards.map((c: { cardId: string }) => c.cardId)).toEqual([card.cardId]);
  });

  it('v1 SEP-53 message mode (X-WALLET-AUTH-MODE: message)', async () => {
    const { t, agent } = await setup();
    const headers = v1(t, agent, { mode: 'message' });
    expect(headers[WALLET_HEADERS.mode]).toBe('message');
    await expectStatus(await t.app.request('/cards', { headers }), 200);
  });

  it('a raw signature presented as message mode (and vice versa) is rejected', async () => {
    const { t, agent } = await setup();
    const raw = v1(t, agent);
    await expectStatus(await t.app.request('/cards', { headers: { ...raw, [WALLET_HEADERS.mode]: 'message' } }), 401, 'AUTH_SIGNATURE_INVALID');
    const sep53 = v1(t, agent, { mode: 'message' });
    await expectStatus(await t.app.request('/cards', { headers: { ...sep53, [WALLET_HEADERS.mode]: 'raw' } }), 401, 'AUTH_SIGNATURE_INVALID');
  });

  it.each(['raw', 'message'] as const)('v2 request-bound (%s mode) on a read and on a state change', async (mode) => {
    const { t, agent, card } = await setup();
    await expectStatus(await t.app.request('/cards?x=1', { headers: v2(t, agent, 'GET', '/cards?x=1', { mode }) }), 200);
    const path = `/cards/${card.cardId}/freeze`;
    const body = await expectStatus(await t.app.request(path, { method: 'POST', body: '{}', headers: v2(t, agent, 'POST', path, { mode, body: '{}' }) }), 200);
    expect(body).toEqual({ success: true, cardId: card.cardId, status: 'frozen' });
  });

  it('timestamps exactly 300 s old or ahead still pass', async () => {
    const { t, agent } = await setup();
    await expectStatus(await t.app.request('/cards', { headers: v1(t, agent, { timestamp: unixNow(t) - 300 }) }), 200);
    await expectStatus(await t.app.request('/cards', { headers: v1(t, agent, { timestamp: unixNow(t) + 300 }) }), 200);
  });

  it('plain v1 reads stay re-usable within the window (ASG compatibility)', async () => {
    const { t, agent } = await setup();
    const headers = v1(t, agent);
    for (let i = 0; i < 3; i++) await expectStatus(await t.app.request('/cards', { headers }), 200);
  });
});

describe('wallet auth: rejections', () => {
  const other = Keypair.random();

  type Case = [name: string, headers: (t: TestApp, kp: Keypair) => Record<string, string>, status: number, code: string];
  const titled = (c: Case) => [c[0], c[2], c[3], c[1]] as const;
  const cases: Case[] = [
    ['no wallet headers at all', () => ({}), 401, 'UNAUTHORIZED'],
    ['wrong key (signed by another wallet)', (t, kp) => ({ ...walletAuthHeadersV1(other, { timestamp: unixNow(t) }), [WALLET_HEADERS.address]: kp.publicKey() }), 401, 'AUTH_SIGNATURE_INVALID'],
    ['signature for another timestamp', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.timestamp]: String(unixNow(t) - 1) }), 401, 'AUTH_SIGNATURE_INVALID'],
    ['stale timestamp (301 s old)', (t, kp) => v1(t, kp, { timestamp: unixNow(t) - 301 }), 401, 'AUTH_EXPIRED'],
    ['future timestamp (301 s ahead)', (t, kp) => v1(t, kp, { timestamp: unixNow(t) + 301 }), 401, 'AUTH_EXPIRED'],
    ['flipped signature bit', (t, kp) => {
      const h = v1(t, kp);
      const sig = Buffer.from(h[WALLET_HEADERS.signature]!, 'base64');
      sig[5]! ^= 0x01;
      return { ...h, [WALLET_HEADERS.signature]: sig.toString('base64') };
    }, 401, 'AUTH_SIGNATURE_INVALID'],
    ['address that is not a G... key', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.address]: 'GNOTANADDRESS' }), 400, 'AUTH_MALFORMED'],
    ['secret seed in the address header', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.address]: kp.secret() }), 400, 'AUTH_MALFORMED'],
    ['address with a bad checksum', (t, kp) => {
      const a = kp.publicKey();
      return { ...v1(t, kp), [WALLET_HEADERS.address]: a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A') };
    }, 400, 'AUTH_MALFORMED'],
    ['signature of 63 bytes', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.signature]: Buffer.alloc(63, 1).toString('base64') }), 400, 'AUTH_MALFORMED'],
    ['signature not base64', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.signature]: '!'.repeat(88) }), 400, 'AUTH_MALFORMED'],
    ['timestamp not an integer', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.timestamp]: '1.5e9' }), 400, 'AUTH_MALFORMED'],
    ['timestamp missing', (t, kp) => {
      const h = v1(t, kp);
      delete h[WALLET_HEADERS.timestamp];
      return h;
    }, 400, 'AUTH_MALFORMED'],
    ['unknown auth mode', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.mode]: 'sep10' }), 400, 'AUTH_MALFORMED'],
    ['unknown auth version', (t, kp) => ({ ...v1(t, kp), [WALLET_HEADERS.version]: '3' }), 400, 'AUTH_MALFORMED'],
    ['v2 without a nonce', (t, kp) => {
      const h = v2(t, kp, 'GET', '/cards');
      delete h[WALLET_HEADERS.nonce];
      return h;
    }, 400, 'AUTH_MALFORMED'],
    ['v2 nonce too short', (t, kp) => v2(t, kp, 'GET', '/cards', { nonce: 'abc' }), 400, 'AUTH_MALFORMED'],
    ['v2 stale timestamp', (t, kp) => v2(t, kp, 'GET', '/cards', { timestamp: unixNow(t) - 301 }), 401, 'AUTH_EXPIRED'],
    ['v2 signed by another wallet', (t, kp) => ({ ...v2(t, other, 'GET', '/cards'), [WALLET_HEADERS.address]: kp.publicKey() }), 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 signature for another path', (t, kp) => v2(t, kp, 'GET', '/cards/other'), 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 signature for another query', (t, kp) => v2(t, kp, 'GET', '/cards?limit=1'), 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 signature for another method', (t, kp) => v2(t, kp, 'POST', '/cards'), 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 signature over a body that was not sent', (t, kp) => v2(t, kp, 'GET', '/cards', { body: '{"a":1}' }), 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 signature presented as v1', (t, kp) => {
      const h = v2(t, kp, 'GET', '/cards');
      delete h[WALLET_HEADERS.version];
      delete h[WALLET_HEADERS.nonce];
      return h;
    }, 401, 'AUTH_SIGNATURE_INVALID'],
    ['v2 nonce swapped after signing', (t, kp) => ({ ...v2(t, kp, 'GET', '/cards'), [WALLET_HEADERS.nonce]: 'A'.repeat(22) }), 401, 'AUTH_SIGNATURE_INVALID'],
  ];

  it.each(cases.map(titled))('%s → %i %s', async (_name, status, code, headers) => {
    const { t, agent } = await setup();
    const body = await expectStatus(await t.app.request('/cards', { headers: headers(t, agent) }), status, code);
    expect(JSON.stringify(body)).not.toContain(agent.secret());
    expect(body.cards).toBeUndefined();
  });

  it('v2: a signature over one body does not authorise another body', async () => {
    const { t, agent, card } = await setup();
    const path = `/cards/${card.cardId}/freeze`;
    const headers = v2(t, agent, 'POST', path, { body: '{"reason":"lost"}' });
    await expectStatus(await t.app.request(path, { method: 'POST', body: '{"reason":"stolen"}', headers }), 401, 'AUTH_SIGNATURE_INVALID');
    await expectStatus(await t.app.request(path, { method: 'POST', body: '{"reason":"lost"}', headers }), 200);
  });

  it('v2 signatures are single-use, even on plain reads', async () => {
    const { t, agent } = await setup();
    const headers = v2(t, agent, 'GET', '/cards');
    await expectStatus(await t.app.request('/cards', { headers }), 200);
    await expectStatus(await t.app.request('/cards', { headers }), 401, 'AUTH_REPLAYED');
    t.clock.advanceMs(200_000); // still inside the timestamp window
    await expectStatus(await t.app.request('/cards', { headers }), 401, 'AUTH_REPLAYED');
  });

  it('a v2 nonce cannot be re-used in a different request either', async () => {
    const { t, agent, card } = await setup();
    const nonce = 'fixed-nonce-0123456789';
    await expectStatus(await t.app.request('/cards', { headers: v2(t, agent, 'GET', '/cards', { nonce }) }), 200);
    const path = `/cards/${card.cardId}`;
    await expectStatus(await t.app.request(path, { headers: v2(t, agent, 'GET', path, { nonce }) }), 401, 'AUTH_REPLAYED');
  });

  it('a v1 signature is accepted once on the details endpoint', async () => {
    const { t, agent, card } = await setup();
    const path = `/cards/${card.cardId}/details`;
    const headers = v1(t, agent);
    await expectStatus(await t.app.request(path, { headers: { ...headers, 'X-AGENT-NONCE': randomUUID() } }), 200);
    // Same captured signature, fresh details nonce: still a replay.
    await expectStatus(await t.app.request(path, { headers: { ...headers, 'X-AGENT-NONCE': randomUUID() } }), 401, 'AUTH_REPLAYED');
  });

  it.each(['freeze', 'unfreeze', 'revoke-details', 'restore-details'])('a v1 signature is accepted once on POST %s', async (action) => {
    const { t, agent, card } = await setup();
    const headers = v1(t, agent);
    const path = `/cards/${card.cardId}/${action}`;
    await expectStatus(await t.app.request(path, { method: 'POST', headers }), 200);
    await expectStatus(await t.app.request(path, { method: 'POST', headers }), 401, 'AUTH_REPLAYED');
  });

  it('a v1 signature spent on one state change cannot be used on another endpoint', async () => {
    const { t, agent, card } = await setup();
    const headers = v1(t, agent, { mode: 'message' });
    await expectStatus(await t.app.request(`/cards/${card.cardId}/freeze`, { method: 'POST', headers }), 200);
    await expectStatus(await t.app.request(`/cards/${card.cardId}/unfreeze`, { method: 'POST', headers }), 401, 'AUTH_REPLAYED');
    await expectStatus(await t.app.request(`/cards/${card.cardId}/details`, { headers: { ...headers, 'X-AGENT-NONCE': randomUUID() } }), 401, 'AUTH_REPLAYED');
  });

  it('remembers spent signatures across app restarts on the same database', async () => {
    const { t, agent, card } = await setup();
    const headers = v1(t, agent);
    const path = `/cards/${card.cardId}/freeze`;
    await expectStatus(await t.app.request(path, { method: 'POST', headers }), 200);
    const restarted = await makeTestApp({ db: t.db, cardCipher: t.deps.cardCipher });
    await expectStatus(await restarted.app.request(path, { method: 'POST', headers }), 401, 'AUTH_REPLAYED');
  });

  describe('a v1 signature presented on a plain read is spent for details and state changes', () => {
    const detailsOf = (t: TestApp, cardId: string, headers: Record<string, string>, nonce: string) =>
      t.app.request(`/cards/${cardId}/details`, { headers: { ...headers, 'X-AGENT-NONCE': nonce } });

    it.each(['raw', 'message'] as const)('GET /cards then GET details (%s mode) → 401 AUTH_REPLAYED, no details nonce spent', async (mode) => {
      const { t, agent, card } = await setup();
      const captured = v1(t, agent, { mode });
      await expectStatus(await t.app.request('/cards', { headers: captured }), 200);
      const nonce = randomUUID();
      const body = await expectStatus(await detailsOf(t, card.cardId, captured, nonce), 401, 'AUTH_REPLAYED');
      expect(JSON.stringify(body)).not.toContain(card.details.cardNumber);
      // The details nonce was not spent: a fresh signature (next second) reads with it, once.
      t.clock.advanceMs(1_000);
      const fresh = v1(t, agent, { mode });
      const ok = await expectStatus(await detailsOf(t, card.cardId, fresh, nonce), 200);
      expect(ok.details.cardNumber).toBe(card.details.cardNumber);
      await expectStatus(await detailsOf(t, card.cardId, fresh, randomUUID()), 401, 'AUTH_REPLAYED');
    });

    it('GET /cards/:id then POST freeze → 401 AUTH_REPLAYED, card not frozen', async () => {
      const { t, agent, card } = await setup();
      const captured = v1(t, agent);
      await expectStatus(await t.app.request(`/cards/${card.cardId}`, { headers: captured }), 200);
      await expectStatus(await t.app.request(`/cards/${card.cardId}/freeze`, { method: 'POST', headers: captured }), 401, 'AUTH_REPLAYED');
      t.clock.advanceMs(1_000);
      const status = await expectStatus(await t.app.request(`/cards/${card.cardId}`, { headers: v1(t, agent) }), 200);
      expect(status.card.status).toBe('active');
      t.clock.advanceMs(1_000);
      const frozen = await expectStatus(await t.app.request(`/cards/${card.cardId}/freeze`, { method: 'POST', headers: v1(t, agent) }), 200);
      expect(frozen.status).toBe('frozen');
    });

    it('plain reads keep accepting the same v1 header, before and after it was refused on details', async () => {
      const { t, agent, card } = await setup();
      const captured = v1(t, agent);
      for (let i = 0; i < 3; i++) await expectStatus(await t.app.request('/cards', { headers: captured }), 200);
      await expectStatus(await detailsOf(t, card.cardId, captured, randomUUID()), 401, 'AUTH_REPLAYED');
      t.clock.advanceMs(200_000); // still inside the window
      for (let i = 0; i < 3; i++) await expectStatus(await t.app.request(`/cards/${card.cardId}/balance`, { headers: captured }), 200);
    });

    it('holds across an app restart over the same database', async () => {
      const { t, agent, card } = await setup();
      const captured = v1(t, agent);
      await expectStatus(await t.app.request('/cards', { headers: captured }), 200);
      const restarted = await makeTestApp({ db: t.db, cardCipher: t.deps.cardCipher });
      restarted.clock.set(t.clock.nowMs());
      await expectStatus(await detailsOf(restarted, card.cardId, captured, randomUUID()), 401, 'AUTH_REPLAYED');
      await expectStatus(await restarted.app.request(`/cards/${card.cardId}/freeze`, { method: 'POST', headers: captured }), 401, 'AUTH_REPLAYED');
      // Reads on the restarted app still accept it; a fresh signature still reads details once.
      await expectStatus(await restarted.app.request('/cards', { headers: captured }), 200);
      restarted.clock.advanceMs(1_000);
      await expectStatus(await detailsOf(restarted, card.cardId, v1(restarted, agent), randomUUID()), 200);
    });
  });

  it('v2 headers built for an absolute URL verify against the path the server sees', async () => {
    const { t, agent } = await setup();
    const headers = walletAuthHeadersV2(agent, { method: 'get', url: 'https://cards.example.com/cards?limit=2&x=%20y' }, { timestamp: unixNow(t) });
    await expectStatus(await t.app.request('/cards?limit=2&x=%20y', { headers }), 200);
  });
});
