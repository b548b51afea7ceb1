import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { issuerSignature } from '../../src/http/routes/issuer.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';
import { ACME, funds, signed } from './helpers.js';

const SECRET = 'issuer-shared-secret-0123456789abcdef';

async function setup() {
  const t = await makeTestApp({ env: { ISSUER_AUTH_SECRET: SECRET } });
  const agent = Keypair.random();
  const card = await seedCard(t, { agent, loadCents: 5000, providerRef: 'issuer_card_42' });
  return { t, agent, card };
}

function ask(t: TestApp, body: object, opts: { secret?: string; timestamp?: number; omit?: 'timestamp' | 'signature'; tamper?: boolean } = {}) {
  const text = JSON.stringify(body);
  const timestamp = String(opts.timestamp ?? Math.floor(t.clock.nowMs() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.omit !== 'timestamp') headers['X-Card402-Timestamp'] = timestamp;
  if (opts.omit !== 'signature') headers['X-Card402-Signature'] = issuerSignature(opts.secret ?? SECRET, timestamp, text);
  return t.app.request('/issuer/authorizations', { method: 'POST', headers, body: opts.tamper ? text.replace('"10"', '"1"') : text });
}

const request = (id: string, amount = '10', extra: object = {}) => ({ id, cardReference: 'issuer_card_42', amount, currency: 'USD', merchant: ACME, ...extra });

describe('POST /issuer/authorizations', () => {
  it('answers approve or decline with the decision function, holds what it approves, and answers a retry with the first answer', async () => {
    const { t, agent, card } = await setup();
    const first = await ask(t, request('iss_1'));
    expect(first.status).toBe(200);
    const decision = await bodyOf(first);
    expect(decision).toEqual({ approved: true, authorizationId: expect.any(String) });
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 4000, heldCents: 1000 });
    expect(await bodyOf(await ask(t, request('iss_1')))).toEqual(decision);
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 4000, heldCents: 1000 });

    expect(await bodyOf(await ask(t, request('iss_2', '40.01')))).toMatchObject({ approved: false, declineReason: 'insufficient_funds' });
    expect(await bodyOf(await ask(t, request('iss_3', '1', { cardReference: 'unknown' })))).toMatchObject({ approved: false, declineReason: 'card_invalid' });
    await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits: [{ amountCents: 500, frequency: 'perAuthorization' }] });
    expect(await bodyOf(await ask(t, request('iss_4', '5.01')))).toMatchObject({ approved: false, declineReason: 'spending_limit', declineDetail: 'perAuthorization:500' });
  });

  it.each([
    ['unsigned', { omit: 'signature' as const }],
    ['without a timestamp', { omit: 'timestamp' as const }],
    ['signed with another secret', { secret: 'another-secret-0123456789abcdef-xyz' }],
    ['with a body changed after signing', { tamper: true }],
    ['stale (301 s old)', { timestamp: -301 }],
    ['from the future (301 s ahead)', { timestamp: 301 }],
  ])('refuses a request %s: 401, nothing held', async (_name, opts) => {
    const { t, agent, card } = await setup();
    const now = Math.floor(t.clock.nowMs() / 1000);
    const res = await ask(t, request('iss_x'), { ...opts, ...('timestamp' in opts ? { timestamp: now + opts.timestamp } : {}) });
    const body = await bodyOf(res);
    expect(res.status, JSON.stringify(body)).toBe(401);
    expect(body.code).toBe('ISSUER_SIGNATURE_INVALID');
    expect(await funds(t, agent, card.cardId)).toEqual({ balanceCents: 5000, heldCents: 0 });
  });

  it('accepts a timestamp 300 s old, and a signed but malformed body is 400 naming the field', async () => {
    const { t } = await setup();
    const now = Math.floor(t.clock.nowMs() / 1000);
    expect((await ask(t, request('iss_5'), { timestamp: now - 300 })).status).toBe(200);
    const bad = await ask(t, request('iss_6', '1.234'));
    expect(bad.status).toBe(400);
    expect((await bodyOf(bad)).issues[0].path).toBe('amount');
  });

  it('is not served without ISSUER_AUTH_SECRET; works over real HTTP with it', async () => {
    const without = await makeTestApp();
    expect((await ask(without, request('iss_7'))).status).toBe(404);
    const { t } = await setup();
    const url = await listen(t.app);
    const text = JSON.stringify(request('iss_8'));
    const ts = String(Math.floor(t.clock.nowMs() / 1000));
    const res = await fetch(`${url}/issuer/authorizations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Card402-Timestamp': ts, 'X-Card402-Signature': issuerSignature(SECRET, ts, text) },
      body: text,
    });
    expect(await res.json()).toMatchObject({ approved: true });
  });

  it('a secret shorter than 32 characters does not start', () => {
    expect(() => loadConfig({ ISSUER_AUTH_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ ISSUER_AUTH_SECRET: 'short' })).toThrow(/ISSUER_AUTH_SECRET/);
  });
});
