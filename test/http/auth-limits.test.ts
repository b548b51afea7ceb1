import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { NodeEd25519Verifier, type SignatureVerifier } from '../../src/wallet-auth/verifier.js';
import { FailureLimiter } from '../../src/wallet-auth/failure-limiter.js';
import { WALLET_HEADERS } from '../../src/protocol/wallet-auth.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { v1 } from '../helpers/wallet.js';

/** The real verifier, counting how often it is asked: refused floods must not reach it. */
class CountingVerifier implements SignatureVerifier {
  readonly name = 'counting-node';
  calls = 0;
  private readonly inner = new NodeEd25519Verifier();
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    this.calls += 1;
    return this.inner.verify(publicKey, message, signature);
  }
}

function badSignature(t: TestApp, kp: Keypair): Record<string, string> {
  return { ...v1(t, kp), [WALLET_HEADERS.signature]: Buffer.alloc(64, 7).toString('base64') };
}

const from = (ip: string) => ({ 'X-Forwarded-For': ip });

describe('failed-auth limits', () => {
  it('per IP: after the limit, that IP gets 429 with Retry-After before any signature check; others are unaffected', async () => {
    const verifier = new CountingVerifier();
    const t = await makeTestApp({ signatureVerifier: verifier, env: { TRUST_PROXY: '1', AUTH_FAILURES_PER_IP: '5', AUTH_FAILURE_WINDOW_SECONDS: '60' } });
    const attacker = Keypair.random();
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request('/cards', { headers: { ...badSignature(t, attacker), ...from('203.0.113.1') } });
      expect(res.status).toBe(401);
    }
    const callsBefore = verifier.calls;
    const blocked = await t.app.request('/cards', { headers: { ...badSignature(t, attacker), ...from('203.0.113.1') } });
    const body = await bodyOf(blocked);
    expect(blocked.status, JSON.stringify(body)).toBe(429);
    expect(body.code).toBe('AUTH_RATE_LIMITED');
    expect(blocked.headers.get('Retry-After')).toBe('60');
    // Even a valid signature from the blocked IP is refused, without verifying anything.
    const honestSameIp = Keypair.random();
    expect((await t.app.request('/cards', { headers: { ...v1(t, honestSameIp), ...from('203.0.113.1') } })).status).toBe(429);
    expect((await t.app.request('/cards', { headers: { 'X-WALLET-ADDRESS': 'junk', ...from('203.0.113.1') } })).status).toBe(429);
    expect(verifier.calls).toBe(callsBefore);
    // Another IP is served.
    expect((await t.app.request('/cards', { headers: { ...v1(t, honestSameIp), ...from('203.0.113.2') } })).status).toBe(200);
    // After the window the IP may try again.
    t.clock.advanceMs(59_000);
    expect((await t.app.request('/cards', { headers: { ...v1(t, honestSameIp), ...from('203.0.113.1') } })).status).toBe(429);
    t.clock.advanceMs(1_000);
    expect((await t.app.request('/cards', { headers: { ...v1(t, honestSameIp), ...from('203.0.113.1') } })).status).toBe(200);
  });

  it('per wallet: failures claiming one wallet from many IPs block that wallet only', async () => {
    const verifier = new CountingVerifier();
    const t = await makeTestApp({ signatureVerifier: verifier, env: { TRUST_PROXY: '1', AUTH_FAILURES_PER_IP: '1000', AUTH_FAILURES_PER_WALLET: '3' } });
    const victim = Keypair.random();
    for (let i = 0; i < 3; i++) {
      expect((await t.app.request('/cards', { headers: { ...badSignature(t, victim), ...from(`198.51.100.${i}`) } })).status).toBe(401);
    }
    const callsBefore = verifier.calls;
    const res = await t.app.request('/cards', { headers: { ...badSignature(t, victim), ...from('198.51.100.99') } });
    expect(res.status).toBe(429);
    expect((await bodyOf(res)).code).toBe('AUTH_RATE_LIMITED');
    expect(verifier.calls).toBe(callsBefore);
    expect((await t.app.request('/cards', { headers: { ...v1(t, Keypair.random()), ...from('198.51.100.99') } })).status).toBe(200);
  });

  it.each([
    ['malformed headers', (t: TestApp, kp: Keypair) => ({ ...v1(t, kp), [WALLET_HEADERS.timestamp]: 'soon' }), 400],
    ['stale timestamps', (t: TestApp, kp: Keypair) => v1(t, kp, { timestamp: 1 }), 401],
    ['missing headers', () => ({}), 401],
  ])('%s count as failures too', async (_name, headers, status) => {
    const t = await makeTestApp({ env: { TRUST_PROXY: '1', AUTH_FAILURES_PER_IP: '2' } });
    const kp = Keypair.random();
    for (let i = 0; i < 2; i++) expect((await t.app.request('/cards', { headers: { ...headers(t, kp), ...from('192.0.2.1') } })).status).toBe(status);
    expect((await t.app.request('/cards', { headers: { ...headers(t, kp), ...from('192.0.2.1') } })).status).toBe(429);
  });

  it('successful requests never count', async () => {
    const t = await makeTestApp({ env: { TRUST_PROXY: '1', AUTH_FAILURES_PER_IP: '2', AUTH_FAILURES_PER_WALLET: '2' } });
    const kp = Keypair.random();
    for (let i = 0; i < 10; i++) expect((await t.app.request('/cards', { headers: { ...v1(t, kp), ...from('192.0.2.1') } })).status).toBe(200);
  });
});

describe('FailureLimiter', () => {
  it('blocks at the limit for the rest of the window and forgets after it', () => {
    const limiter = new FailureLimiter({ limit: 2, windowMs: 1000 });
    expect(limiter.blockedForMs('k', 0)).toBe(0);
    limiter.recordFailure('k', 0);
    expect(limiter.blockedForMs('k', 10)).toBe(0);
    limiter.recordFailure('k', 100);
    expect(limiter.blockedForMs('k', 400)).toBe(600);
    expect(limiter.blockedForMs('other', 400)).toBe(0);
    expect(limiter.blockedForMs('k', 1000)).toBe(0);
    limiter.recordFailure('k', 1000);
    expect(limiter.blockedForMs('k', 1001)).toBe(0);
  });

  it('tracks a bounded number of keys', () => {
    const limiter = new FailureLimiter({ limit: 1, windowMs: 1000, maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) limiter.recordFailure(key, 0);
    expect(limiter.blockedForMs('a', 1)).toBe(0); // evicted, oldest first
    expect(limiter.blockedForMs('d', 1)).toBe(999);
  });

  it('rejects nonsense options', () => {
    expect(() => new FailureLimiter({ limit: 0, windowMs: 1 })).toThrow(RangeError);
    expect(() => new FailureLimiter({ limit: 1, windowMs: 0 })).toThrow(RangeError);
  });
});
