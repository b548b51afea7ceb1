import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger, redact, REDACTED } from '../../src/logger.js';
import { makeTestApp } from '../helpers/app.js';

const SECRET_HEADER_VALUE = 'eyJzZWNyZXQiOiJwYXltZW50LXBheWxvYWQtc2hvdWxkLW5ldmVyLWJlLWxvZ2dlZCJ9';

describe('request logging', () => {
  it('writes one structured line per request with method, path, status, duration and request id', async () => {
    const t = await makeTestApp();
    await t.app.request('/health?x=1', { headers: { 'X-Request-Id': 'req-1' } });
    const lines = t.logs.map((line) => JSON.parse(line)).filter((r) => r.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', method: 'GET', path: '/health', status: 200, requestId: 'req-1' });
    expect(typeof lines[0].durationMs).toBe('number');
  });

  it('never logs payment headers, wallet signatures or query strings', async () => {
    const t = await makeTestApp();
    const headers = {
      'PAYMENT-SIGNATURE': SECRET_HEADER_VALUE,
      'X-PAYMENT': SECRET_HEADER_VALUE,
      'X-WALLET-SIGNATURE': SECRET_HEADER_VALUE,
      Authorization: `Bearer ${SECRET_HEADER_VALUE}`,
    };
    await t.app.request(`/health?token=${SECRET_HEADER_VALUE}`, { headers });
    await t.app.request('/no-such-route', { method: 'POST', headers, body: JSON.stringify({ cvv: '123', secret: SECRET_HEADER_VALUE }) });
    expect(t.logs.length).toBeGreaterThan(0);
    for (const line of t.logs) expect(line).not.toContain(SECRET_HEADER_VALUE);
  });

  it('unhandled errors are logged without secrets the error message carried', async () => {
    const t = await makeTestApp();
    const seed = Keypair.random().secret();
    t.app.get('/probe/leak', () => {
      throw new Error(`failed with key ${seed} and card 4111111111111111`);
    });
    expect((await t.app.request('/probe/leak')).status).toBe(500);
    const errorLines = t.logs.filter((line) => line.includes('unhandled error'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).not.toContain(seed);
    expect(errorLines[0]).not.toContain('4111111111111111');
  });
});

describe('redact', () => {
  it('blanks secret fields at any depth and any spelling', () => {
    const out = redact({
      card: { cardNumber: '4111111111111111', CVV: '123', expiry_month: 1, status: 'active', nested: [{ 'x-payment': 'abc' }] },
      keep: 'visible',
      'PAYMENT-SIGNATURE': 'abc',
      secretKey: 'S...',
    });
    expect(out).toEqual({
      card: { cardNumber: REDACTED, CVV: REDACTED, expiry_month: REDACTED, status: 'active', nested: [{ 'x-payment': REDACTED }] },
      keep: 'visible',
      'PAYMENT-SIGNATURE': REDACTED,
      secretKey: REDACTED,
    });
  });

  it('scrubs Stellar seeds and card-number-like digit runs from free text', () => {
    const seed = Keypair.random().secret();
    const logger = createMemoryLogger();
    logger.warn(`oops ${seed}`, { note: 'pan 4000123412341234 here' });
    expect(logger.lines[0]).not.toContain(seed);
    expect(logger.lines[0]).not.toContain('4000123412341234');
  });

  it('drops lines below the level', () => {
    const logger = createMemoryLogger('warn');
    logger.info('hidden');
    logger.error('shown');
    expect(logger.lines).toHaveLength(1);
  });
});
