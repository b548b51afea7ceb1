import { Keypair } from '@stellar/stellar-sdk';
import { createDecipheriv, randomUUID } from 'node:crypto';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import type { CardDetails } from '../../src/cards/card-data.js';
import { openSealed } from '../../src/protocol/sealed.js';
import { sweepSessions } from '../../src/cards/sessions/sweeper.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';

function answered(details: CardDetails) {
  const a = details.billingAddress;
  return { ...details, billingAddress: { ...a, street: a.line1, zip: a.postalCode } };
}

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ env });
  const agent = Keypair.random();
  const owner = Keypair.random();
  const card = await seedCard(t, { agent, owner });
  return { t, agent, owner, card };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function details(t: TestApp, kp: Keypair, cardId: string, headers: Record<string, string>) {
  const res = await signedRequest(t, kp, 'GET', `/cards/${cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID(), ...headers } });
  return { status: res.status, body: await bodyOf(res) };
}

async function audit(t: TestApp, kp: Keypair, cardId: string): Promise<string[]> {
  const res = await signedRequest(t, kp, 'GET', `/cards/${cardId}/details-access?limit=100`);
  return (await bodyOf(res)).attempts.reverse().map((a: { path: string; outcome: string }) => `${a.path}:${a.outcome}`);
}

describe('sealed details (X-AGENT-PUBKEY)', () => {
  it('the answer holds no plaintext, only a nacl.box that tweetnacl opens with the agent key', async () => {
    const { t, agent, card } = await setup();
    const keys = nacl.box.keyPair();
    const r = await details(t, agent, card.cardId, { 'X-AGENT-PUBKEY': b64(keys.publicKey) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Object.keys(r.body)).toEqual(['sealed']);
    expect(r.body.sealed).toEqual({ alg: 'x25519-xsalsa20-poly1305', ephemeralPublicKey: expect.any(String), nonce: expect.any(String), ciphertext: expect.any(String) });
    const text = JSON.stringify(r.body);
    for (const secret of [card.details.cardNumber, card.details.cvv, card.details.billingAddress.line1]) expect(text).not.toContain(secret);
    // Opened with tweetnacl's own nacl.box.open, not with our code.
    const plain = nacl.box.open(
      Buffer.from(r.body.sealed.ciphertext, 'base64'),
      Buffer.from(r.body.sealed.nonce, 'base64'),
      Buffer.from(r.body.sealed.ephemeralPublicKey, 'base64'),
      keys.secretKey,
    );
    expect(JSON.parse(Buffer.from(plain!).toString('utf8'))).toEqual(answered(card.details));
    // Another key opens nothing.
    expect(() => openSealed(r.body.sealed, nacl.box.keyPair().secretKey)).toThrow(/does not open/);
  });

  it('a fresh ephemeral key and nonce per answer', async () => {
    const { t, agent, card } = await setup();
    const keys = nacl.box.keyPair();
    const a = await details(t, agent, card.cardId, { 'X-AGENT-PUBKEY': b64(keys.publicKey) });
    const b = await details(t, agent, card.cardId, { 'X-AGENT-PUBKEY': b64(keys.publicKey) });
    expect(a.body.sealed.ephemeralPublicKey).not.toBe(b.body.sealed.ephemeralPublicKey);
    expect(a.body.sealed.nonce).not.toBe(b.body.sealed.nonce);
    expect(openSealed(a.body.sealed, keys.secretKey)).toEqual(openSealed(b.body.sealed, keys.secretKey));
  });

  it('without the header the answer is exactly as before (ASG clients)', async () => {
    const { t, agent, card } = await setup();
    const r = await details(t, agent, card.cardId, {});
    expect(r.body).toEqual({ details: answered(card.details) });
  });

  it.each([
    ['not base64', 'not a key'],
    ['31 bytes', b64(new Uint8Array(31).fill(9))],
    ['33 bytes', b64(new Uint8Array(33).fill(9))],
    ['unpadded', b64(new Uint8Array(32).fill(9)).replace('=', '')],
    ['a low-order point (all zeros)', b64(new Uint8Array(32))],
  ])('400 INVALID_AGENT_PUBKEY when the key is %s, and nothing is spent or audited', async (_name, header) => {
    const { t, agent, card } = await setup({ DETAILS_NONCES_PER_WINDOW: '1' });
    const nonce = randomUUID();
    const r = await details(t, agent, card.cardId, { 'X-AGENT-PUBKEY': header, 'X-AGENT-NONCE': nonce });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('INVALID_AGENT_PUBKEY');
    expect(await audit(t, agent, card.cardId)).toEqual([]);
    expect((await details(t, agent, card.cardId, { 'X-AGENT-NONCE': nonce })).status).toBe(200);
  });

  it('a frozen card refuses details (409 CARD_NOT_ACTIVE), audited, nothing spent', async () => {
    const { t, agent, card } = await setup();
    expect((await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/freeze`)).status).toBe(200);
    const nonce = randomUUID();
    const r = await details(t, agent, card.cardId, { 'X-AGENT-NONCE': nonce });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('CARD_NOT_ACTIVE');
    expect((await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/unfreeze`)).status).toBe(200);
    expect((await details(t, agent, card.cardId, { 'X-AGENT-NONCE': nonce })).status).toBe(200);
    expect(await audit(t, agent, card.cardId)).toEqual(['details:card_inactive', 'details:granted']);
  });

  it('a closed card refuses every path: 409 CARD_CLOSED, audited as card_inactive', async () => {
    const { t, agent, card } = await setup();
    const created = await bodyOf(await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{}', headers: { 'content-type': 'application/json' } }));
    const secrets = await bodyOf(await signedRequest(t, agent, 'POST', '/cards/secrets/session'));
    await t.db.updateTable('cards').set({ status: 'closed' }).where('id', '=', card.cardId).execute();
    const r = await details(t, agent, card.cardId, {});
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('CARD_CLOSED');
    const redeem = await t.app.request(`/card-sessions/${created.session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': created.redeemToken } });
    expect((await bodyOf(redeem)).code).toBe('CARD_CLOSED');
    expect((await reveal(t, agent, card.cardId, secrets.sessionId)).body.code).toBe('CARD_CLOSED');
    const again = await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{}', headers: { 'content-type': 'application/json' } });
    expect((await bodyOf(again)).code).toBe('CARD_CLOSED');
    expect(await audit(t, agent, card.cardId)).toEqual(['details:card_inactive', 'redeem:card_inactive', 'secrets:card_inactive']);
  });

  it('redeem with X-AGENT-PUBKEY answers the session and the sealed details only', async () => {
    const { t, agent, card } = await setup();
    const created = await bodyOf(await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{}', headers: { 'content-type': 'application/json' } }));
    const keys = nacl.box.keyPair();
    const res = await t.app.request(`/card-sessions/${created.session.id}/redeem`, {
      method: 'POST',
      headers: { 'X-Scoped-Token': created.redeemToken, 'X-AGENT-PUBKEY': b64(keys.publicKey) },
    });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['sealed', 'session']);
    expect(JSON.stringify(body)).not.toContain(card.details.cardNumber);
    expect(openSealed(body.sealed, keys.secretKey)).toEqual(answered(card.details));
  });

  it('redeem with a bad X-AGENT-PUBKEY is 400 and leaves the session redeemable', async () => {
    const { t, agent, card } = await setup();
    const created = await bodyOf(await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{}', headers: { 'content-type': 'application/json' } }));
    const bad = await t.app.request(`/card-sessions/${created.session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': created.redeemToken, 'X-AGENT-PUBKEY': 'x' } });
    expect(bad.status).toBe(400);
    const ok = await t.app.request(`/card-sessions/${created.session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': created.redeemToken } });
    expect(ok.status).toBe(200);
  });
});

function aesOpen(keyHex: string, field: { data: string; iv: string }): string {
  const data = Buffer.from(field.data, 'base64');
  const decipher = createDecipheriv('aes-128-gcm', Buffer.from(keyHex, 'hex'), Buffer.from(field.iv, 'base64'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

async function secretsSession(t: TestApp, kp: Keypair) {
  const res = await signedRequest(t, kp, 'POST', '/cards/secrets/session');
  return { status: res.status, body: await bodyOf(res) };
}

async function reveal(t: TestApp, kp: Keypair, cardId: string, sessionId: string) {
  const body = JSON.stringify({ sessionId });
  const res = await signedRequest(t, kp, 'POST', `/cards/${cardId}/secrets`, { body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: await bodyOf(res) };
}

describe('secrets sessions (machines.cash shapes)', () => {
  it('a 16-byte key, then the number and CVC under AES-128-GCM with it; no plaintext number or CVC', async () => {
    const { t, agent, card } = await setup();
    const s = await secretsSession(t, agent);
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    expect(s.body).toEqual({ sessionId: expect.stringMatching(/^ss_[0-9a-f]{32}$/), secretKey: expect.stringMatching(/^[0-9a-f]{32}$/), expiresAt: new Date(t.clock.nowMs() + 120_000).toISOString() });
    const r = await reveal(t, agent, card.cardId, s.body.sessionId);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      encryptedPan: { data: expect.any(String), iv: expect.any(String) },
      encryptedCvc: { data: expect.any(String), iv: expect.any(String) },
      expirationMonth: card.details.expiryMonth,
      expirationYear: card.details.expiryYear,
      last4: card.details.cardNumber.slice(-4),
    });
    expect(JSON.stringify(r.body)).not.toContain(card.details.cardNumber);
    expect(aesOpen(s.body.secretKey, r.body.encryptedPan)).toBe(card.details.cardNumber);
    expect(aesOpen(s.body.secretKey, r.body.encryptedCvc)).toBe(card.details.cvv);
    expect(await audit(t, agent, card.cardId)).toEqual(['secrets:granted']);
  });

  it('single use: a used session opens neither the same card again nor another card; its key is wiped', async () => {
    const { t, agent, card } = await setup();
    const other = await seedCard(t, { agent });
    const s = (await secretsSession(t, agent)).body;
    expect((await reveal(t, agent, card.cardId, s.sessionId)).status).toBe(200);
    const again = await reveal(t, agent, card.cardId, s.sessionId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'SECRETS_SESSION_NOT_USABLE', status: 'used' });
    expect((await reveal(t, agent, other.cardId, s.sessionId)).body.code).toBe('SECRETS_SESSION_NOT_USABLE');
    const row = await t.db.selectFrom('secrets_sessions').selectAll().where('id', '=', s.sessionId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'used', key_ciphertext: null, card_id: card.cardId });
  });

  it('another wallet’s session is not found; a stranger’s card is 404 before the session is looked at', async () => {
    const { t, agent, owner, card } = await setup();
    const mine = (await secretsSession(t, agent)).body;
    const theirs = await reveal(t, owner, card.cardId, mine.sessionId);
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('SECRETS_SESSION_NOT_FOUND');
    const stranger = Keypair.random();
    const strangerSession = (await secretsSession(t, stranger)).body;
    expect((await reveal(t, stranger, card.cardId, strangerSession.sessionId)).body.code).toBe('CARD_NOT_FOUND');
    // Neither refusal used the agent's session.
    expect((await reveal(t, agent, card.cardId, mine.sessionId)).status).toBe(200);
  });

  it('expires after its TTL; the sweeper wipes its key and scrubs it', async () => {
    const { t, agent, card } = await setup({ SECRETS_SESSION_TTL_SECONDS: '60' });
    const s = (await secretsSession(t, agent)).body;
    t.clock.advanceMs(60_000);
    const r = await reveal(t, agent, card.cardId, s.sessionId);
    expect(r.status).toBe(409);
    expect(r.body.status).toBe('expired');
    expect(await sweepSessions({ db: t.db, clock: t.clock })).toMatchObject({ secretsSessionsExpired: 1, secretsSessionsScrubbed: 1 });
    const row = await t.db.selectFrom('secrets_sessions').selectAll().where('id', '=', s.sessionId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'scrubbed', key_ciphertext: null });
  });

  it('revoked and frozen cards refuse secrets and leave the session usable', async () => {
    const { t, agent, owner, card } = await setup();
    const s = (await secretsSession(t, agent)).body;
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/revoke-details`)).status).toBe(200);
    expect((await reveal(t, agent, card.cardId, s.sessionId)).status).toBe(403);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/restore-details`)).status).toBe(200);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/freeze`)).status).toBe(200);
    expect((await reveal(t, agent, card.cardId, s.sessionId)).status).toBe(409);
    expect((await signedRequest(t, owner, 'POST', `/cards/${card.cardId}/unfreeze`)).status).toBe(200);
    expect((await reveal(t, agent, card.cardId, s.sessionId)).status).toBe(200);
    expect(await audit(t, agent, card.cardId)).toEqual(['secrets:revoked', 'secrets:card_inactive', 'secrets:granted']);
  });

  it('400 for a body without a sessionId', async () => {
    const { t, agent, card } = await setup();
    const res = await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/secrets`, { body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
  });
});
