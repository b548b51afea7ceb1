import { Keypair } from '@stellar/stellar-sdk';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seedCard } from '../helpers/wallet.js';
import { charge, makeSpendApp, post, signed } from './helpers.js';

async function setup(loadCents = 100_000) {
  const t = await makeSpendApp();
  const holder = Keypair.random();
  const owner = Keypair.random();
  const card = await seedCard(t, { agent: holder, owner, loadCents });
  const patch = (kp: Keypair, body: unknown) => signed(t, kp, 'PATCH', `/cards/${card.cardId}`, body);
  const controls = async () => (await signed(t, owner, 'GET', `/cards/${card.cardId}`)).body.card.controls;
  return { t, holder, owner, card, patch, controls };
}

const limit = (amountCents: number, frequency = 'per24HourPeriod') => ({ amountCents, frequency });

describe('PATCH /cards/:cardId: the holder only tightens, the owner may loosen', () => {
  it('GET /cards/:cardId shows the controls; a new card has none', async () => {
    const { controls } = await setup();
    expect(await controls()).toEqual({ limits: [], allowedCategories: [], blockedCategories: [], allowedMerchants: [], expiresAt: null, lockedBy: null });
  });

  // Each row: a starting state set by the owner, a change, and whether the holder may make it.
  const cases: Array<{ name: string; start: object; change: object; holderMay: boolean; field?: string }> = [
    { name: 'add a limit', start: {}, change: { limits: [limit(5000)] }, holderMay: true },
    { name: 'lower a limit', start: { limits: [limit(5000)] }, change: { limits: [limit(4000)] }, holderMay: true },
    { name: 'keep a limit as it is', start: { limits: [limit(5000)] }, change: { limits: [limit(5000)] }, holderMay: true },
    { name: 'add a second limit', start: { limits: [limit(5000)] }, change: { limits: [limit(5000), limit(100, 'perAuthorization')] }, holderMay: true },
    { name: 'raise a limit', start: { limits: [limit(5000)] }, change: { limits: [limit(5001)] }, holderMay: false, field: 'limits' },
    { name: 'remove a limit', start: { limits: [limit(5000)] }, change: { limits: [] }, holderMay: false, field: 'limits' },
    { name: 'swap a limit for another frequency', start: { limits: [limit(5000)] }, change: { limits: [limit(5000, 'per7DayPeriod')] }, holderMay: false, field: 'limits' },
    { name: 'block a category', start: {}, change: { blockedCategories: ['7995'] }, holderMay: true },
    { name: 'unblock a category', start: { blockedCategories: ['7995'] }, change: { blockedCategories: [] }, holderMay: false, field: 'blockedCategories' },
    { name: 'allow only some categories', start: {}, change: { allowedCategories: ['5734'] }, holderMay: true },
    { name: 'narrow allowed categories', start: { allowedCategories: ['5734', '5812'] }, change: { allowedCategories: ['5734'] }, holderMay: true },
    { name: 'widen allowed categories', start: { allowedCategories: ['5734'] }, change: { allowedCategories: ['5734', '5812'] }, holderMay: false, field: 'allowedCategories' },
    { name: 'allow every category again', start: { allowedCategories: ['5734'] }, change: { allowedCategories: [] }, holderMay: false, field: 'allowedCategories' },
    { name: 'allow only some merchants', start: {}, change: { allowedMerchants: ['Acme Software'] }, holderMay: true },
    { name: 'widen merchants', start: { allowedMerchants: ['Acme Software'] }, change: { allowedMerchants: ['acme software', 'Globex'] }, holderMay: false, field: 'allowedMerchants' },
    { name: 'allow every merchant again', start: { allowedMerchants: ['Acme Software'] }, change: { allowedMerchants: [] }, holderMay: false, field: 'allowedMerchants' },
    { name: 'set an expiry', start: {}, change: { expiresAt: '2026-12-01T00:00:00Z' }, holderMay: true },
    { name: 'bring the expiry closer', start: { expiresAt: '2026-12-31T00:00:00Z' }, change: { expiresAt: '2026-12-01T00:00:00Z' }, holderMay: true },
    { name: 'extend the expiry', start: { expiresAt: '2026-12-01T00:00:00Z' }, change: { expiresAt: '2026-12-31T00:00:00Z' }, holderMay: false, field: 'expiresAt' },
    { name: 'remove the expiry', start: { expiresAt: '2026-12-01T00:00:00Z' }, change: { expiresAt: null }, holderMay: false, field: 'expiresAt' },
    { name: 'lock', start: {}, change: { status: 'locked' }, holderMay: true },
    { name: 'unlock a card the owner locked', start: { status: 'locked' }, change: { status: 'active' }, holderMay: false, field: 'status' },
  ];

  it.each(cases)('$name: holder $holderMay, owner always', async ({ start, change, holderMay, field }) => {
    const { patch, controls, holder, owner } = await setup();
    expect((await patch(owner, start)).status).toBe(200);
    const before = await controls();
    const byHolder = await patch(holder, change);
    if (holderMay) {
      expect(byHolder.status, JSON.stringify(byHolder.body)).toBe(200);
    } else {
      expect(byHolder.status, JSON.stringify(byHolder.body)).toBe(403);
      expect(byHolder.body).toMatchObject({ code: 'OWNER_ONLY', requiredRole: 'owner', fields: [field] });
      expect(await controls()).toEqual(before);
      const byOwner = await patch(owner, change);
      expect(byOwner.status, JSON.stringify(byOwner.body)).toBe(200);
    }
  });

  it('a change that loosens one field is refused whole, with every loosening field named', async () => {
    const { patch, controls, holder, owner } = await setup();
    await patch(owner, { limits: [limit(5000)], blockedCategories: ['7995'] });
    const before = await controls();
    const r = await patch(holder, { limits: [limit(9000)], blockedCategories: [], allowedCategories: ['5734'], status: 'locked' });
    expect(r.status).toBe(403);
    expect(r.body.fields).toEqual(['limits', 'blockedCategories']);
    expect(await controls()).toEqual(before);
  });

  it('locks record who locked: the holder may unlock its own lock; the owner locking over it makes it the owner’s', async () => {
    const { patch, controls, holder, owner } = await setup();
    expect((await patch(holder, { status: 'locked' })).body).toMatchObject({ status: 'frozen', controls: { lockedBy: 'holder' } });
    expect((await patch(holder, { status: 'active' })).body).toMatchObject({ status: 'active', controls: { lockedBy: null } });
    await patch(holder, { status: 'locked' });
    await patch(owner, { status: 'locked' });
    expect((await controls()).lockedBy).toBe('owner');
    // A holder's lock over the owner's does not take the owner's away.
    await patch(holder, { status: 'locked' });
    expect((await controls()).lockedBy).toBe('owner');
    expect((await patch(holder, { status: 'active' })).status).toBe(403);
    expect((await patch(owner, { status: 'active' })).status).toBe(200);
  });

  it('ASG’s freeze and unfreeze are the same lock with the same roles', async () => {
    const { t, card, holder, owner, controls } = await setup();
    expect((await signed(t, owner, 'POST', `/cards/${card.cardId}/freeze`)).body).toEqual({ success: true, cardId: card.cardId, status: 'frozen' });
    expect((await controls()).lockedBy).toBe('owner');
    const refused = await signed(t, holder, 'POST', `/cards/${card.cardId}/unfreeze`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'OWNER_ONLY', requiredRole: 'owner', fields: ['status'] });
    expect((await signed(t, owner, 'POST', `/cards/${card.cardId}/unfreeze`)).body.status).toBe('active');
    await signed(t, holder, 'POST', `/cards/${card.cardId}/freeze`);
    expect((await signed(t, holder, 'POST', `/cards/${card.cardId}/unfreeze`)).body.status).toBe('active');
  });

  it('when the holder is its own owner (the default) it may loosen', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits: [limit(100)], status: 'locked' });
    const r = await signed(t, agent, 'PATCH', `/cards/${card.cardId}`, { limits: [], status: 'active' });
    expect(r.status).toBe(200);
    expect(r.body.controls.limits).toEqual([]);
  });

  it('unsigned, or signed for another body: 401, nothing changes', async () => {
    const { t, card, holder, controls } = await setup();
    const path = `/cards/${card.cardId}`;
    const unsigned = await t.app.request(path, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"status":"locked"}' });
    expect(unsigned.status).toBe(401);
    const { v2 } = await import('../helpers/wallet.js');
    const headers = v2(t, holder, 'PATCH', path, { body: '{"limits":[]}' });
    const swapped = await t.app.request(path, { method: 'PATCH', headers: { ...headers, 'content-type': 'application/json' }, body: '{"status":"locked"}' });
    expect(swapped.status).toBe(401);
    expect((await controls()).lockedBy).toBeNull();
  });

  it('a stranger gets 404 whatever it asks, and changes nothing', async () => {
    const { t, card, controls } = await setup();
    const stranger = Keypair.random();
    for (const body of [{ status: 'locked' }, { limits: [] }, {}]) {
      const r = await signed(t, stranger, 'PATCH', `/cards/${card.cardId}`, body);
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('CARD_NOT_FOUND');
    }
    expect((await signed(t, stranger, 'PATCH', `/cards/${randomUUID()}`, {})).status).toBe(404);
    expect((await controls()).lockedBy).toBeNull();
  });

  it.each([
    [{ status: 'frozen' }, 'status'],
    [{ limits: [{ amountCents: 10, frequency: 'perDay' }] }, 'limits.0.frequency'],
    [{ limits: [{ amountCents: 1.5, frequency: 'allTime' }] }, 'limits.0.amountCents'],
    [{ blockedCategories: ['573'] }, 'blockedCategories.0'],
    [{ allowedCategories: ['abcd'] }, 'allowedCategories.0'],
    [{ expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ colour: 'red' }, ''],
  ])('400 naming the field for %j', async (body, path) => {
    const { patch, owner } = await setup();
    const r = await patch(owner, body);
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.code).toBe('VALIDATION_ERROR');
    expect(r.body.issues[0].path).toBe(path);
  });
});

describe('controls decide authorizations', () => {
  it('limits: per authorization, rolling windows counting held and captured (not reversed), all time; the first passed is named', async () => {
    const { t, card, patch, owner } = await setup();
    await patch(owner, { limits: [limit(2000, 'perAuthorization'), limit(5000, 'per24HourPeriod'), limit(8000, 'allTime')] });
    expect((await charge(t, card, '20.01')).body.authorization).toMatchObject({ declineReason: 'spending_limit', declineDetail: 'perAuthorization:2000' });
    const a = (await charge(t, card, 20)).body.authorization;
    const b = (await charge(t, card, 20)).body.authorization;
    await post(t, `/sandbox/authorizations/${a.id}/capture`);
    expect((await charge(t, card, '10.01')).body.authorization).toMatchObject({ declineReason: 'spending_limit', declineDetail: 'per24HourPeriod:5000' });
    // A reversed hold no longer counts.
    await post(t, `/sandbox/authorizations/${b.id}/reverse`);
    expect((await charge(t, card, 20)).body.authorization.status).toBe('approved');
    // 4000 spent all time; a day later the daily window is empty again.
    t.clock.advanceMs(86_400_000);
    expect((await charge(t, card, 20)).body.authorization.status).toBe('approved');
    expect((await charge(t, card, '19.99')).body.authorization.status).toBe('approved');
    expect((await charge(t, card, '0.02')).body.authorization).toMatchObject({ declineReason: 'spending_limit', declineDetail: 'allTime:8000' });
    expect((await charge(t, card, '0.01')).body.authorization.status).toBe('approved');
  });

  it('windows roll: a spend 7 days ago leaves the weekly window exactly then', async () => {
    const { t, card, patch, owner } = await setup();
    await patch(owner, { limits: [limit(1000, 'per7DayPeriod')] });
    expect((await charge(t, card, 10)).body.authorization.status).toBe('approved');
    t.clock.advanceMs(7 * 86_400_000 - 1);
    expect((await charge(t, card, '0.01')).body.authorization.declineReason).toBe('spending_limit');
    t.clock.advanceMs(1);
    expect((await charge(t, card, 10)).body.authorization.status).toBe('approved');
  });

  it('categories and merchants', async () => {
    const { t, card, patch, owner } = await setup();
    await patch(owner, { blockedCategories: ['7995'] });
    expect((await charge(t, card, 1, { merchant: { name: 'Casino', mcc: '7995', country: 'US' } })).body.authorization.declineReason).toBe('category_blocked');
    await patch(owner, { allowedCategories: ['5734'] });
    expect((await charge(t, card, 1, { merchant: { name: 'Diner', mcc: '5812', country: 'US' } })).body.authorization.declineReason).toBe('category_blocked');
    await patch(owner, { allowedMerchants: ['Acme Software'] });
    expect((await charge(t, card, 1, { merchant: { name: 'Globex', mcc: '5734', country: 'US' } })).body.authorization.declineReason).toBe('merchant_not_allowed');
    expect((await charge(t, card, 1, { merchant: { name: '  ACME software ', mcc: '5734', country: 'US' } })).body.authorization.status).toBe('approved');
  });

  it('expiresAt: declined card_expired from that instant', async () => {
    const { t, card, patch, holder } = await setup();
    await patch(holder, { expiresAt: new Date(t.clock.nowMs() + 1000).toISOString() });
    expect((await charge(t, card, 1)).body.authorization.status).toBe('approved');
    t.clock.advanceMs(1000);
    expect((await charge(t, card, 1)).body.authorization.declineReason).toBe('card_expired');
  });
});
