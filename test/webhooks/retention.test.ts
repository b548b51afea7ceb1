import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { pruneWebhookHistory } from '../../src/webhooks/retention.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest } from '../helpers/wallet.js';
import { startWebhookReceiver, testDispatcher } from '../helpers/webhook-receiver.js';
import { charge, makeSpendApp } from '../spend/helpers.js';

const DAY_MS = 86_400_000;

// Webhook history is kept WEBHOOK_RETENTION_DAYS, then deleted; what a delivery still owes never is.
describe('webhook history retention', () => {
  it('deletes delivered and failed history older than the retention, keeps what is newer or still pending', async () => {
    const t = await makeSpendApp({ env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' } });
    const ok = await startWebhookReceiver();
    const down = await startWebhookReceiver(() => ({ status: 503 }));
    const agent = Keypair.random();
    for (const url of [ok.url, down.url]) {
      const res = await signedRequest(t, agent, 'POST', '/webhooks', { body: JSON.stringify({ url, events: ['authorization.approved'] }), headers: { 'content-type': 'application/json' } });
      expect(res.status, JSON.stringify(await bodyOf(res.clone()))).toBe(201);
    }
    const card = await seedCard(t, { agent, loadCents: 5_000 });
    const dispatcher = testDispatcher({ ...t, cipher: t.deps.cardCipher });
    const count = async (table: 'webhook_events' | 'webhook_deliveries' | 'webhook_attempts') => (await t.db.selectFrom(table).selectAll().execute()).length;

    // An old event: delivered to one endpoint, still pending (failing, within its retries) at the other.
    expect((await charge(t, card, '1')).body.authorization.status).toBe('approved');
    expect(await dispatcher.runOnce()).toBe(2);
    t.clock.advanceMs(40 * DAY_MS);
    // A new event (not yet sent).
    expect((await charge(t, card, '2')).body.authorization.status).toBe('approved');
    expect(await count('webhook_events')).toBe(2);

    // The old event still owes a delivery (pending at the failing endpoint): nothing of it goes.
    const pending = await t.db.selectFrom('webhook_deliveries').select(['event_id', 'status']).where('status', '=', 'pending').execute();
    expect(pending.length).toBeGreaterThan(0);
    expect(await pruneWebhookHistory({ db: t.db, clock: t.clock, retentionDays: 30 })).toBe(0);

    // Retries end after three days: the old delivery is failed, and then its whole history goes.
    await dispatcher.runOnce();
    const oldEvent = (await t.db.selectFrom('webhook_events').select(['id', 'created_at']).orderBy('created_at', 'asc').executeTakeFirstOrThrow()).id;
    const oldDeliveries = await t.db.selectFrom('webhook_deliveries').select('status').where('event_id', '=', oldEvent).execute();
    expect(oldDeliveries.map((d) => d.status).sort()).toEqual(['delivered', 'failed']);
    expect(await pruneWebhookHistory({ db: t.db, clock: t.clock, retentionDays: 30 })).toBe(1);
    expect(await t.db.selectFrom('webhook_events').select('id').where('id', '=', oldEvent).execute()).toEqual([]);
    expect(await t.db.selectFrom('webhook_deliveries').select('id').where('event_id', '=', oldEvent).execute()).toEqual([]);
    // The new event and its deliveries and attempts stay.
    expect(await count('webhook_events')).toBe(1);
    expect(await count('webhook_deliveries')).toBe(2);
    expect(await count('webhook_attempts')).toBe(2);
    // Nothing dangles: every attempt belongs to a delivery of an existing event.
    const orphans = await t.db
      .selectFrom('webhook_attempts as a')
      .leftJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .select('a.id')
      .where('d.id', 'is', null)
      .execute();
    expect(orphans).toEqual([]);
  });

  it('WEBHOOK_RETENTION_DAYS below the retry window stops the server with a message that names it', () => {
    expect(() => loadConfig({ WEBHOOK_RETENTION_DAYS: '2' })).toThrow(/WEBHOOK_RETENTION_DAYS/);
    expect(loadConfig({}).webhooks.retentionDays).toBe(30);
  });
});
