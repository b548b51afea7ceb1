import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/kernel/env.js';
import { clientIp, UNKNOWN_IP } from '../../src/http/kernel/client-ip.js';

function probe(trustedProxyHops: number) {
  const app = new Hono<AppEnv>();
  app.use('*', clientIp({ trustedProxyHops }));
  app.get('/ip', (c) => c.text(c.get('clientIp')));
  return async (xff?: string) => (await app.request('/ip', { headers: xff ? { 'X-Forwarded-For': xff } : {} })).text();
}

describe('clientIp', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', async () => {
    expect(await probe(0)('203.0.113.5')).toBe(UNKNOWN_IP); // no socket in-process
  });

  it('with one trusted proxy takes the entry it appended (rightmost), never what the client wrote', async () => {
    const ip = probe(1);
    expect(await ip('198.51.100.1, 203.0.113.5')).toBe('203.0.113.5');
    expect(await ip('203.0.113.5')).toBe('203.0.113.5');
  });

  it('with two trusted proxies takes the second entry from the right', async () => {
    const ip = probe(2);
    expect(await ip('6.6.6.6, 198.51.100.1, 10.0.0.2')).toBe('198.51.100.1');
    // Fewer entries than trusted hops: fall back to the socket address.
    expect(await ip('10.0.0.2')).toBe(UNKNOWN_IP);
  });
});
