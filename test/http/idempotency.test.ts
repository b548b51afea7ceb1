import { Keypair } from '@stellar/stellar-sdk';
import { randomBytes, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { findCard } from '../../src/cards/repository.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { openTestDb } from '../helpers/store.js';
import { IDEMPOTENCY_LEASE_MS, IDEMPOTENCY_TTL_MS, idempotency, type IdempotencyEnv } from '../../src/http/idempotency/middleware.js';
import { pruneIdempotencyKeys } from '../../src/http/idempotency/retention.js';
import { errorResponse } from '../../src/http/kernel/errors.js';
import { createMemoryLogger } from '../../src/logger.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';

const DAY_MS = 24 * 3_600_000;

async function write(t: TestApp, kp: Keypair, path: string, key: string | undefined, body?: string) {
  const res = await signedRequest(t, kp, 'POST', path, { headers: key === undefined ? {} : { 'Idempotency-Key': key }, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text(), replayed: res.headers.get('Idempotent-Replayed'), retryAfter: res.headers.get('Retry-After') };
}

async function statusOf(t: TestApp, cardId: string) {
  return (await findCard(t.db, cardId))!.status;
}

describe('Idempotency-Key on wallet-signed writes', () => {
  it('the same key and body return the first answer byte for byte, without running the write again', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent });
    const key = randomUUID();

    const first = await write(t, agent, `/cards/${cardId}/freeze`, key);
    expect(first.status, first.text).toBe(200);
    expect(first.replayed).toBeNull();
    expect(await statusOf(t, cardId)).toBe('frozen');

    // Someone unfreezes the card; a resend of the freeze with the same key must not freeze it again.
    expect((await write(t, agent, `/cards/${cardId}/unfreeze`, undefined)).status).toBe(200);
    t.clock.advanceMs(60_000);
    const again = await write(t, agent, `/cards/${cardId}/freeze`, key);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.replayed).toBe('true');
    expect(await statusOf(t, cardId)).toBe('active');
  });

  it('replays refusals too (a 4xx is the write’s answer), scoped to the caller', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const owner = Keypair.random();
    const { cardId } = await seedCard(t, { agent, owner });
    const key = randomUUID();

    const refused = await write(t, agent, `/cards/${cardId}/revoke-details`, key);
    expect(refused.status, refused.text).toBe(403);
    expect(JSON.parse(refused.text).code).toBe('OWNER_ONLY');
    const repeated = await write(t, agent, `/cards/${cardId}/revoke-details`, key);
    expect(repeated.text).toBe(refused.text);
    expect(repeated.replayed).toBe('true');

    // The owner's key space is its own: the same key runs the owner's write.
    const byOwner = await write(t, owner, `/cards/${cardId}/revoke-details`, key);
    expect(byOwner.status, byOwner.text).toBe(200);
    expect(byOwner.replayed).toBeNull();
    expect((await findCard(t.db, cardId))!.details_revoked).toBe(1);
  });

  it('the same key with another path or body is 422 IDEMPOTENCY_KEY_MISMATCH and runs nothing', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const a = await seedCard(t, { agent });
    const b = await seedCard(t, { agent });
    const key = randomUUID();
    expect((await write(t, agent, `/cards/${a.cardId}/freeze`, key)).status).toBe(200);

    const otherCard = await write(t, agent, `/cards/${b.cardId}/freeze`, key);
    expect(otherCard.status, otherCard.text).toBe(422);
    expect(JSON.parse(otherCard.text)).toEqual({ error: expect.stringMatching(/different request/), code: 'IDEMPOTENCY_KEY_MISMATCH' });
    expect(await statusOf(t, b.cardId)).toBe('active');

    const otherBody = await write(t, agent, `/cards/${a.cardId}/freeze`, key, '{"reason":"other"}');
    expect(otherBody.status, otherBody.text).toBe(422);
    expect(JSON.parse(otherBody.text).code).toBe('IDEMPOTENCY_KEY_MISMATCH');
  });

  it('keeps a key 24 h by the injected clock: a day later the key runs the write again, and pruning removes it', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent });
    const key = randomUUID();
    expect((await write(t, agent, `/cards/${cardId}/freeze`, key)).status).toBe(200);
    expect((await write(t, agent, `/cards/${cardId}/unfreeze`, undefined)).status).toBe(200);

    t.clock.advanceMs(IDEMPOTENCY_TTL_MS - 1);
    expect(await pruneIdempotencyKeys({ db: t.db, clock: t.clock })).toBe(0);
    expect((await write(t, agent, `/cards/${cardId}/freeze`, key)).replayed).toBe('true');
    expect(await statusOf(t, cardId)).toBe('active');

    t.clock.advanceMs(1);
    const later = await write(t, agent, `/cards/${cardId}/freeze`, key);
    expect(later.status).toBe(200);
    expect(later.replayed).toBeNull();
    expect(await statusOf(t, cardId)).toBe('frozen');

    t.clock.advanceMs(DAY_MS);
    expect(await pruneIdempotencyKeys({ db: t.db, clock: t.clock })).toBe(1);
    expect(await t.db.selectFrom('idempotency_keys').selectAll().execute()).toEqual([]);
  });

  it.each([
    ['too long', 'k'.repeat(256)],
    ['a space', 'my key'],
    ['non-ASCII', 'clé-1'],
  ])('refuses a key that is %s with 400 IDEMPOTENCY_KEY_INVALID before anything runs', async (_name, key) => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent });
    // Header values must be ByteStrings for fetch: send the non-ASCII one as latin1 bytes.
    const res = await write(t, agent, `/cards/${cardId}/freeze`, Buffer.from(key, 'utf8').toString('latin1'));
    expect(res.status, res.text).toBe(400);
    expect(JSON.parse(res.text).code).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(await statusOf(t, cardId)).toBe('active');
  });

  it('accepts a 255-character key', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    const { cardId } = await seedCard(t, { agent });
    expect((await write(t, agent, `/cards/${cardId}/freeze`, 'k'.repeat(255))).status).toBe(200);
  });
});

/** A write whose handler waits until released, to hold a request in the middle of its work. */
function gatedApp(db: Db, clock: ManualClock) {
  const runs: Array<{ release: (status: number) => void }> = [];
  let entered: () => void = () => {};
  const app = new Hono<IdempotencyEnv>();
  app.use('*', async (c, next) => {
    c.set('clientIp', '203.0.113.9');
    c.set('requestId', 'test');
    await next();
  });
  app.post('/things/:id', idempotency({ db, clock, fingerprintKey: randomBytes(32) }), async (c) => {
    const status = await new Promise<number>((release) => {
      runs.push({ release });
      entered();
    });
    if (status >= 500) throw new Error('boom');
    return c.json({ run: runs.length, id: c.req.param('id') }, status as 200);
  });
  app.onError((err, c) => errorResponse(c as never, err, createMemoryLogger()));
  const nextEntry = () => new Promise<void>((resolve) => (entered = resolve));
  const post = (key: string, body = '{"card":"4929381726000001"}') =>
    app.request('/things/1', { method: 'POST', body, headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' } });
  return { runs, nextEntry, post };
}

describe('idempotency middleware: concurrency, failures and storage', () => {
  async function setup() {
    const db = openTestDb();
    await migrateToLatest(db);
    const clock = new ManualClock();
    return { db, clock, ...gatedApp(db, clock) };
  }

  it('a duplicate while the first runs is 409 IDEMPOTENCY_KEY_IN_USE and does not run; afterwards it gets the first answer', async () => {
    const { runs, nextEntry, post } = await setup();
    const entered = nextEntry();
    const first = post('k1');
    await entered;
    const duplicate = await post('k1');
    expect(duplicate.status).toBe(409);
    expect(duplicate.headers.get('Retry-After')).toBe('1');
    expect((await bodyOf(duplicate)).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(runs).toHaveLength(1);

    runs[0]!.release(201);
    const answer = await first;
    const text = await answer.text();
    expect(answer.status).toBe(201);
    const replayed = await post('k1');
    expect(replayed.status).toBe(201);
    expect(await replayed.text()).toBe(text);
    expect(runs).toHaveLength(1);
  });

  it('many concurrent duplicates: exactly one runs', async () => {
    const { runs, nextEntry, post } = await setup();
    const entered = nextEntry();
    const first = post('k-many');
    await entered;
    const others = await Promise.all(Array.from({ length: 20 }, () => post('k-many')));
    expect(others.map((r) => r.status)).toEqual(Array(20).fill(409));
    runs[0]!.release(200);
    expect((await first).status).toBe(200);
    expect(runs).toHaveLength(1);
  });

  it('a claim whose process died is taken over after the lease', async () => {
    const { clock, runs, nextEntry, post } = await setup();
    let entered = nextEntry();
    void post('k2'); // never released: stands for a process that died mid-write
    await entered;
    clock.advanceMs(IDEMPOTENCY_LEASE_MS - 1);
    expect((await post('k2')).status).toBe(409);
    clock.advanceMs(1);
    entered = nextEntry();
    const retry = post('k2');
    await entered;
    runs[1]!.release(200);
    expect((await retry).status).toBe(200);
    expect(runs).toHaveLength(2);
  });

  it('a 5xx answer is not kept: the key is given back and a retry runs', async () => {
    const { runs, nextEntry, post } = await setup();
    let entered = nextEntry();
    const failing = post('k3');
    await entered;
    runs[0]!.release(500);
    expect((await failing).status).toBe(500);
    entered = nextEntry();
    const retry = post('k3');
    await entered;
    runs[1]!.release(200);
    expect((await retry).status).toBe(200);
  });

  it('never stores the request body, only a keyed fingerprint; without the header nothing is stored', async () => {
    const { db, runs, nextEntry, post } = await setup();
    const entered = nextEntry();
    const res = post('k4');
    await entered;
    runs[0]!.release(200);
    await res;
    const rows = await db.selectFrom('idempotency_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ scope: 'ip:203.0.113.9', method: 'POST', route: '/things/:id', idem_key: 'k4', state: 'done', response_status: 200 });
    expect(JSON.stringify(rows)).not.toContain('4929381726000001');
    expect(rows[0]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
