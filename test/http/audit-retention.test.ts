import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUDIT_PRUNE_INTERVAL_MS, DAY_MS, startAuditRetention } from '../../src/cards/audit-retention.js';
import { AUDIT_PRUNE_BATCH_ROWS } from '../../src/cards/details-repository.js';
import { createMemoryLogger } from '../../src/logger.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { seedCard, signedRequest, type SeededCard } from '../helpers/wallet.js';

afterEach(() => {
  vi.useRealTimers();
});

const readDetails = (t: TestApp, kp: Keypair, card: SeededCard) =>
  signedRequest(t, kp, 'GET', `/cards/${card.cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID() } });

/** One granted read by the holder and 11 stranger attempts (10 itemized, 1 counted) at the clock's time. */
async function attempts(t: TestApp, holder: Keypair, card: SeededCard) {
  expect((await readDetails(t, holder, card)).status).toBe(200);
  const stranger = Keypair.random();
  for (let i = 0; i < 11; i++) expect((await readDetails(t, stranger, card)).status).toBe(404);
}

async function stored(t: TestApp) {
  const rows = await t.db.selectFrom('card_details_access').select('created_at').execute();
  const counters = await t.db.selectFrom('card_details_refusals').select(['last_at', 'attempts']).execute();
  return { rowTimes: [...new Set(rows.map((r) => r.created_at))], rows: rows.length, counters };
}

describe('details access audit retention', () => {
  it('prunes rows and refusal counters older than DETAILS_AUDIT_RETENTION_DAYS at start, by the injected clock, and keeps the rest', async () => {
    const t = await makeTestApp();
    const holder = Keypair.random();
    const card = await seedCard(t, { agent: holder });
    const oldAt = t.clock.nowMs();
    await attempts(t, holder, card);
    t.clock.advanceMs(20 * DAY_MS);
    const newAt = t.clock.nowMs();
    await attempts(t, holder, card);
    expect(await stored(t)).toMatchObject({ rows: 22, rowTimes: [oldAt, newAt] });

    t.clock.advanceMs(10 * DAY_MS); // the first batch is now 30 days old, the second 10
    const logger = createMemoryLogger();
    const retention = await startAuditRetention({ db: t.db, clock: t.clock, logger, retentionDays: 30 });
    await retention.stop();
    // Exactly 30 days old is kept; a millisecond more is not.
    expect(await stored(t)).toMatchObject({ rows: 22 });

    t.clock.advanceMs(1);
    const again = await startAuditRetention({ db: t.db, clock: t.clock, logger, retentionDays: 30 });
    await again.stop();
    expect(await stored(t)).toEqual({ rows: 11, rowTimes: [newAt], counters: [{ last_at: newAt, attempts: 1 }] });
    expect(logger.lines.join('\n')).toContain('details access audit pruned');
  });

  it('prunes again on its schedule while running', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const t = await makeTestApp();
    const holder = Keypair.random();
    const card = await seedCard(t, { agent: holder });
    await attempts(t, holder, card);
    const retention = await startAuditRetention({ db: t.db, clock: t.clock, logger: createMemoryLogger(), retentionDays: 90 });
    expect((await stored(t)).rows).toBe(11); // nothing old yet

    t.clock.advanceMs(91 * DAY_MS);
    await vi.advanceTimersByTimeAsync(AUDIT_PRUNE_INTERVAL_MS - 1);
    expect((await stored(t)).rows).toBe(11); // the hourly pass has not come yet
    await vi.advanceTimersByTimeAsync(1);
    await retention.stop(); // waits for the pass under way
    expect(await stored(t)).toEqual({ rows: 0, rowTimes: [], counters: [] });
  });

  it('deletes a backlog larger than one batch', async () => {
    const t = await makeTestApp();
    const card = await seedCard(t, { agent: Keypair.random() });
    const oldAt = t.clock.nowMs();
    const rows = Array.from({ length: AUDIT_PRUNE_BATCH_ROWS * 2 + 7 }, () => ({
      id: randomUUID(), card_id: card.cardId, wallet_address: 'GX', ip: '127.0.0.1', user_agent: '', outcome: 'granted' as const, created_at: oldAt,
    }));
    for (let i = 0; i < rows.length; i += 1000) await t.db.insertInto('card_details_access').values(rows.slice(i, i + 1000)).execute();
    t.clock.advanceMs(2 * DAY_MS);
    await (await startAuditRetention({ db: t.db, clock: t.clock, logger: createMemoryLogger(), retentionDays: 1 })).stop();
    expect((await stored(t)).rows).toBe(0);
  });
});
