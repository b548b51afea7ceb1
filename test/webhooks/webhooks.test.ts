import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES } from '../../src/protocol/webhooks.js';
import { isPublicAddress } from '../../src/webhooks/address-guard.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { makePaidHarness, USDC } from '../helpers/paid.js';
import { openTestStore } from '../helpers/store.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';
import { startWebhookReceiver, testDispatcher, type ReceivedWebhook } from '../helpers/webhook-receiver.js';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';

const LOCAL = { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' };

function dispatcher(t: Pick<TestApp, 'db' | 'clock' | 'deps'>, opts: { allowPrivate?: boolean; db?: TestApp['db'] } = {}) {
  return testDispatcher({ db: opts.db ?? t.db, clock: t.clock, cipher: t.deps.cardCipher }, { allowPrivateAddresses: opts.allowPrivate ?? true });
}

async function register(t: TestApp, wallet: Keypair, url: string, events: readonly string[] = WEBHOOK_EVENT_TYPES) {
  const body = JSON.stringify({ url, events });
  const res = await signedRequest(t, wallet, 'POST', '/webhooks', { body, headers: { 'content-type': 'application/json' } });
  const created = await bodyOf(res);
  expect(res.status, JSON.stringify(created)).toBe(201);
  return created as { id: string; secret: string; url: string; events: string[] };
}

/** What a receiver must do: recompute the signature over the raw body with its secret. */
function verifySignature(hook: ReceivedWebhook, secret: string): boolean {
  const header = String(hook.headers['card402-signature']);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${hook.body}`).digest('hex');
  return expected === match[2];
}

const events = (receiver: { received: ReceivedWebhook[] }) => receiver.received.map((r) => JSON.parse(r.body) as { id: string; type: string; data: Record<string, unknown> });

describe('signed webhooks', () => {
  it('register, list, delete; events about my cards arrive signed, with an event id, in the transaction of the change', async () => {
    const t = await makeTestApp({ env: LOCAL });
    const receiver = await startWebhookReceiver();
    const agent = Keypair.random();
    const stranger = Keypair.random();
    const hook = await register(t, agent, receiver.url);
    expect(hook.secret).toMatch(/^whsec_/);
    const { cardId } = await seedCard(t, { agent, loadCents: 2_500 });

    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/unfreeze`)).status).toBe(200);
    const nonce = randomUUID();
    expect((await signedRequest(t, agent, 'GET', `/cards/${cardId}/details`, { headers: { 'X-AGENT-NONCE': nonce } })).status).toBe(200);
    // Refused (its transaction writes no event), and a stranger's attempts tell the card's wallets nothing.
    expect((await signedRequest(t, agent, 'GET', `/cards/${cardId}/details`, { headers: { 'X-AGENT-NONCE': nonce } })).status).toBe(409);
    expect((await signedRequest(t, stranger, 'POST', `/cards/${cardId}/freeze`)).status).toBe(404);

    expect(await dispatcher(t).runOnce()).toBe(3);
    expect(events(receiver).map((e) => e.type)).toEqual(expect.arrayContaining(['card.frozen', 'card.unfrozen', 'card.details_accessed']));
    expect(receiver.received).toHaveLength(3);
    for (const r of receiver.received) {
      expect(verifySignature(r, hook.secret), r.body).toBe(true);
      expect(verifySignature(r, hook.secret.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')))).toBe(false);
      expect(r.headers['card402-event-id']).toBe(JSON.parse(r.body).id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(new Set(events(receiver).map((e) => e.id)).size).toBe(3);
    expect(events(receiver).find((e) => e.type === 'card.frozen')!.data).toEqual({ cardId, status: 'frozen', by: agent.publicKey(), role: 'owner' });
    // No card data in any event.
    const raw = receiver.received.map((r) => r.body).join('\n');
    const row = await t.db.selectFrom('cards').select('last_four').where('id', '=', cardId).executeTakeFirstOrThrow();
    expect(raw).not.toMatch(/cardNumber|cvv/i);
    expect(raw).not.toContain(nonce);
    expect(row.last_four).toHaveLength(4);

    // The delivery log, then list and delete.
    const log = await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${hook.id}/deliveries`));
    expect(log.deliveries).toHaveLength(3);
    for (const d of log.deliveries) {
      expect(d.status).toBe('delivered');
      expect(d.attempts).toEqual([{ attempt: 1, at: expect.any(String), statusCode: 200, error: null }]);
    }
    expect((await signedRequest(t, stranger, 'GET', `/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    const list = await bodyOf(await signedRequest(t, agent, 'GET', '/webhooks'));
    expect(list.webhooks).toEqual([{ id: hook.id, url: receiver.url, events: [...WEBHOOK_EVENT_TYPES], createdAt: expect.any(String) }]);
    expect(JSON.stringify(list)).not.toContain(hook.secret);
    expect((await signedRequest(t, stranger, 'DELETE', `/webhooks/${hook.id}`)).status).toBe(404);
    expect((await signedRequest(t, agent, 'DELETE', `/webhooks/${hook.id}`)).status).toBe(200);
    expect((await bodyOf(await signedRequest(t, agent, 'GET', '/webhooks'))).webhooks).toEqual([]);
    // Nothing goes to a deleted endpoint.
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    expect(await dispatcher(t).runOnce()).toBe(0);
  });

  it('only the subscribed event types are delivered, to the holder and the owner', async () => {
    const t = await makeTestApp({ env: LOCAL });
    const holderReceiver = await startWebhookReceiver();
    const ownerReceiver = await startWebhookReceiver();
    const agent = Keypair.random();
    const owner = Keypair.random();
    await register(t, agent, holderReceiver.url, ['card.unfrozen']);
    await register(t, owner, ownerReceiver.url, ['card.frozen']);
    const { cardId } = await seedCard(t, { agent, owner });
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    expect((await signedRequest(t, owner, 'POST', `/cards/${cardId}/unfreeze`)).status).toBe(200);
    await dispatcher(t).runOnce();
    expect(events(holderReceiver).map((e) => e.type)).toEqual(['card.unfrozen']);
    expect(events(ownerReceiver).map((e) => e.type)).toEqual(['card.frozen']);
  });

  it('a receiver that fails and then recovers: retried with backoff, the same event id and body, each attempt listed', async () => {
    const t = await makeTestApp({ env: LOCAL });
    const receiver = await startWebhookReceiver((i) => (i < 2 ? { status: 503 } : { status: 204 }));
    const agent = Keypair.random();
    const hook = await register(t, agent, receiver.url, ['card.frozen']);
    const { cardId } = await seedCard(t, { agent });
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    const d = dispatcher(t);

    expect(await d.runOnce()).toBe(1); // 503
    expect(await d.runOnce()).toBe(0); // not due before the backoff (1 s)
    t.clock.advanceMs(1_000);
    expect(await d.runOnce()).toBe(1); // 503 again
    t.clock.advanceMs(1_999);
    expect(await d.runOnce()).toBe(0); // the second wait is 2 s
    t.clock.advanceMs(1);
    expect(await d.runOnce()).toBe(1); // 204: delivered
    t.clock.advanceMs(3_600_000);
    expect(await d.runOnce()).toBe(0);

    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['card402-event-id'])).size).toBe(1);
    for (const r of receiver.received) expect(verifySignature(r, hook.secret)).toBe(true);
    const [delivery] = (await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${hook.id}/deliveries`))).deliveries;
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts.map((a: { statusCode: number; error: string | null }) => [a.statusCode, a.error])).toEqual([[503, 'http_503'], [503, 'http_503'], [204, null]]);
  });

  it('gives up when the event is three days old: the delivery ends failed', async () => {
    const t = await makeTestApp({ env: LOCAL });
    const receiver = await startWebhookReceiver(() => ({ status: 500 }));
    const agent = Keypair.random();
    const hook = await register(t, agent, receiver.url, ['card.frozen']);
    const { cardId } = await seedCard(t, { agent });
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    const d = dispatcher(t);
    for (let i = 0; i < 40; i++) {
      await d.runOnce();
      t.clock.advanceMs(6 * 3600 * 1000);
    }
    const [delivery] = (await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${hook.id}/deliveries`))).deliveries;
    expect(delivery.status).toBe('failed');
    expect(delivery.nextAttemptAt).toBeNull();
    // Backoff 1 s, 2 s, 4 s … capped at 6 h: attempts spread over three days, then no more.
    expect(delivery.attempts.length).toBeGreaterThan(10);
    expect(delivery.attempts.length).toBeLessThan(40);
    expect(receiver.received).toHaveLength(delivery.attempts.length);
  });

  it('a restart mid-delivery: the next process redelivers after the lease, with the same event id; nothing lost, the stale attempt changes nothing', async () => {
    const store = openTestStore(path.join(mkdtempSync(path.join(tmpdir(), 'card402-webhooks-')), 'db.sqlite'));
    const t = await makeTestApp({ env: LOCAL, db: store.open() });
    const receiver = await startWebhookReceiver((i) => (i === 0 ? { hold: true } : { status: 200 }));
    const agent = Keypair.random();
    const hook = await register(t, agent, receiver.url, ['card.frozen']);
    const { cardId } = await seedCard(t, { agent });
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);

    // The first process sends and "dies" before it hears back (its request is held open).
    const first = dispatcher(t).runOnce();
    await receiver.waitFor(1);
    // The restarted process, on its own connection to the same store.
    const db2 = store.open();
    try {
      const second = dispatcher(t, { db: db2 });
      expect(await second.runOnce()).toBe(0); // the lease still holds
      t.clock.advanceMs(5_000 + 30_000);
      expect(await second.runOnce()).toBe(1);
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1]!.headers['card402-event-id']).toBe(receiver.received[0]!.headers['card402-event-id']);
      expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
      // The first process's late answer arrives after the takeover: it records nothing.
      receiver.release(500);
      await first;
      const [delivery] = (await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${hook.id}/deliveries`))).deliveries;
      expect(delivery.status).toBe('delivered');
      expect(delivery.attempts).toEqual([{ attempt: 2, at: expect.any(String), statusCode: 200, error: null }]);
      t.clock.advanceMs(3_600_000);
      expect(await second.runOnce()).toBe(0);
    } finally {
      await db2.destroy();
    }
  });
});

describe('several dispatchers on one store (instances, or a pass overlapping a restart)', () => {
  it('racing passes of two processes deliver every event exactly once', async () => {
    const store = openTestStore(path.join(mkdtempSync(path.join(tmpdir(), 'card402-webhooks-')), 'db.sqlite'));
    const t = await makeTestApp({ env: LOCAL, db: store.open() });
    const receiver = await startWebhookReceiver();
    const agent = Keypair.random();
    const hook = await register(t, agent, receiver.url, ['card.frozen']);
    const cards = 12;
    for (let i = 0; i < cards; i++) {
      const { cardId } = await seedCard(t, { agent });
      expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);
    }
    const db2 = store.open();
    try {
      const [one, two] = [dispatcher(t), dispatcher(t, { db: db2 })];
      const attempts = await Promise.all([one.runOnce(), two.runOnce(), one.runOnce(), two.runOnce()]);
      expect(attempts.reduce((a, b) => a + b, 0)).toBe(cards);
      const ids = receiver.received.map((r) => String(r.headers['card402-event-id']));
      expect(ids).toHaveLength(cards);
      expect(new Set(ids).size).toBe(cards);
      const { deliveries } = await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${hook.id}/deliveries`));
      expect(deliveries.map((d: { status: string; attempts: unknown[] }) => [d.status, d.attempts.length])).toEqual(Array(cards).fill(['delivered', 1]));
      expect(await one.runOnce()).toBe(0);
    } finally {
      await db2.destroy();
    }
  });
});

describe('webhook targets (SSRF)', () => {
  it('refuses to register http or loopback/private URLs unless configured for local development', async () => {
    const t = await makeTestApp();
    const agent = Keypair.random();
    for (const url of ['http://hooks.example.com/x', 'https://127.0.0.1/x', 'https://localhost/x', 'https://[::1]/x', 'https://10.1.2.3/x', 'https://169.254.169.254/x', 'https://user:pw@hooks.example.com/x']) {
      const res = await signedRequest(t, agent, 'POST', '/webhooks', { body: JSON.stringify({ url, events: ['card.frozen'] }), headers: { 'content-type': 'application/json' } });
      expect(res.status, url).toBe(400);
      expect((await bodyOf(res)).code).toBe('VALIDATION_ERROR');
    }
    const ok = await signedRequest(t, agent, 'POST', '/webhooks', { body: JSON.stringify({ url: 'https://hooks.example.com/x', events: ['card.frozen'] }), headers: { 'content-type': 'application/json' } });
    expect(ok.status).toBe(201);
  });

  it('never delivers to an address that resolves to loopback when not allowed, and never follows a redirect', async () => {
    const t = await makeTestApp({ env: LOCAL });
    const target = await startWebhookReceiver();
    const redirecting = await startWebhookReceiver(() => ({ status: 307, headers: { Location: target.url } }));
    const agent = Keypair.random();
    // Registered while allowed (local development), delivered by a dispatcher that does not allow it.
    const blocked = await register(t, agent, target.url.replace('127.0.0.1', 'localhost'), ['card.frozen']);
    const redirected = await register(t, agent, redirecting.url, ['card.frozen']);
    const { cardId } = await seedCard(t, { agent });
    expect((await signedRequest(t, agent, 'POST', `/cards/${cardId}/freeze`)).status).toBe(200);

    await dispatcher(t, { allowPrivate: false }).runOnce();
    expect(target.received).toHaveLength(0);
    expect(redirecting.received).toHaveLength(0);
    const log = async (id: string) => (await bodyOf(await signedRequest(t, agent, 'GET', `/webhooks/${id}/deliveries`))).deliveries[0];
    expect((await log(blocked.id)).attempts[0].error).toBe('blocked_address');

    t.clock.advanceMs(1_000);
    await dispatcher(t, { allowPrivate: true }).runOnce();
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(1); // the localhost endpoint itself, now allowed; the redirect was not followed
    expect((await log(redirected.id)).attempts.at(-1)).toMatchObject({ statusCode: 307, error: 'redirect_not_followed' });
  });

  it.each([
    ['127.0.0.1', false], ['10.0.0.1', false], ['172.16.5.4', false], ['192.168.1.1', false], ['169.254.169.254', false], ['100.64.0.1', false],
    ['0.0.0.0', false], ['::1', false], ['fe80::1', false], ['fd00::1', false], ['::ffff:127.0.0.1', false], ['::ffff:10.0.0.1', false],
    ['8.8.8.8', true], ['1.1.1.1', true], ['2606:4700:4700::1111', true], ['::ffff:8.8.8.8', true], ['not-an-ip', false],
  ])('isPublicAddress(%s) is %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe('events from payments', () => {
  it('card created and funded (in the fulfilment transaction), and payment refunded to the payer', async () => {
    const h = await makePaidHarness({ env: { ...LOCAL, FULFIL_MAX_ATTEMPTS: '2' } });
    try {
      const receiver = await startWebhookReceiver();
      const agent = h.agent(500n * USDC);
      const res = await fetch(`${h.baseUrl}/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...walletAuthHeadersV2(agent, { method: 'POST', url: '/webhooks', body: JSON.stringify({ url: receiver.url, events: WEBHOOK_EVENT_TYPES }) }) },
        body: JSON.stringify({ url: receiver.url, events: WEBHOOK_EVENT_TYPES }),
      });
      expect(res.status).toBe(201);
      const hook = await bodyOf(res);
      const created = await h.pay(agent, '/cards/create/tier/25', { nameOnCard: 'Hook Card', email: 'h@example.com' });
      expect(created.response.status).toBe(201);
      const cardId = (await bodyOf(created.response)).card.cardId as string;
      expect((await h.pay(agent, '/cards/fund/tier/10', { cardId })).response.status).toBe(200);
      h.issuer.failNext('issue', 100);
      expect((await h.pay(agent, '/cards/create/tier/0', { nameOnCard: 'No Card', email: 'n@example.com' })).response.status).toBe(502);
      for (let i = 0; i < 3; i++) await h.stack.service.reconcile();

      const { systemClock } = await import('../../src/clock.js');
      const d = testDispatcher({ ...h, clock: systemClock });
      await d.runOnce();
      const got = events(receiver);
      expect(got.map((e) => e.type).sort()).toEqual(['card.created', 'card.funded', 'payment.refunded']);
      expect(got.find((e) => e.type === 'card.created')!.data).toMatchObject({ cardId, balanceCents: 2_500 });
      expect(got.find((e) => e.type === 'card.funded')!.data).toMatchObject({ cardId, amountCents: 1_000, balanceCents: 3_500 });
      expect(got.find((e) => e.type === 'payment.refunded')!.data).toMatchObject({ payer: agent.publicKey(), refundTxHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      for (const r of receiver.received) expect(verifySignature(r, hook.secret)).toBe(true);
    } finally {
      await h.close();
    }
  }, 60_000);
});

