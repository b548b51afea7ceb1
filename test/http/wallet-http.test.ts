import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { walletAuthHeadersV1, walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { makeTestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, unixNow } from '../helpers/wallet.js';

describe('wallet-signed requests over real HTTP', () => {
  it('v2 binds method, path, query and body as the server receives them', async () => {
    const t = await makeTestApp();
    const base = await listen(t.app);
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const url = `${base}/cards/${card.cardId}/freeze?reason=lost%20card`;
    const body = JSON.stringify({ note: 'ünïcode body' });
    const headers = walletAuthHeadersV2(agent, { method: 'POST', url, body }, { timestamp: unixNow(t) });
    const res = await fetch(url, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await bodyOf(res)).toEqual({ success: true, cardId: card.cardId, status: 'frozen' });
    // Same headers again: replay.
    const again = await fetch(url, { method: 'POST', body, headers });
    expect(again.status).toBe(401);
    expect((await bodyOf(again)).code).toBe('AUTH_REPLAYED');
  });

  it('details over HTTP: audit records the socket IP and ignores X-Forwarded-For unless TRUST_PROXY says so', async () => {
    const t = await makeTestApp();
    const base = await listen(t.app);
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const detailsUrl = `${base}/cards/${card.cardId}/details`;
    const res = await fetch(detailsUrl, {
      headers: {
        ...walletAuthHeadersV1(agent, { timestamp: unixNow(t), mode: 'message' }),
        'X-AGENT-NONCE': randomUUID(),
        'X-Forwarded-For': '203.0.113.77',
        'User-Agent': 'card402-test/1',
      },
    });
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).details.cardNumber).toBe(card.details.cardNumber);

    const auditUrl = `${base}/cards/${card.cardId}/details-access`;
    const audit = await fetch(auditUrl, { headers: walletAuthHeadersV2(agent, { method: 'GET', url: auditUrl }, { timestamp: unixNow(t) }) });
    const body = await bodyOf(audit);
    expect(body.attempts).toEqual([
      { time: new Date(t.clock.nowMs()).toISOString(), path: 'details', wallet: agent.publicKey(), ip: '127.0.0.1', userAgent: 'card402-test/1', outcome: 'granted' },
    ]);
  });

  it('10 concurrent HTTP requests with one X-AGENT-NONCE: exactly one 200', async () => {
    const t = await makeTestApp();
    const base = await listen(t.app);
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const url = `${base}/cards/${card.cardId}/details`;
    const nonce = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(url, { headers: { ...walletAuthHeadersV2(agent, { method: 'GET', url }, { timestamp: unixNow(t) }), 'X-AGENT-NONCE': nonce } }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(9).fill(409)]);
    await Promise.all(responses.map((r) => r.text()));
  });

  it('a spoofed X-Forwarded-For does not escape the per-IP failure limit', async () => {
    const t = await makeTestApp({ env: { AUTH_FAILURES_PER_IP: '3' } });
    const base = await listen(t.app);
    const kp = Keypair.random();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const headers = { ...walletAuthHeadersV1(kp, { timestamp: unixNow(t) - 1000 }), 'X-Forwarded-For': `10.0.0.${i}` };
      statuses.push((await fetch(`${base}/cards`, { headers })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
