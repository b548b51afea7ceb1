import { Keypair } from '@stellar/stellar-sdk';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { spendTotals } from '../../src/cards/spend/repository.js';
import { migrateToLatest } from '../../src/db/open.js';
import { migrations } from '../../src/db/migrations/index.js';
import { seedCard } from '../helpers/wallet.js';
import { charge, makeSpendApp, post } from './helpers.js';

describe('migration 2026-11-30-11-card-spend-totals', () => {
  it('on a database that already has authorizations (and later migrations), fills the running totals from the entries', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 10_000 });
    const a = (await charge(t, card, 30)).body.authorization.id;
    await charge(t, card, 5);
    await post(t, `/sandbox/authorizations/${a}/capture`, { amount: 20 });
    const before = await spendTotals(t.db, card.cardId);
    expect(before).toEqual({ availableDeltaCents: -2500, heldCents: 500 });

    // Back to a database without the totals (as main had it before), newer migrations still applied.
    const name = '2026-11-30-11-card-spend-totals';
    await migrations[name]!.down!(t.db);
    await sql`delete from kysely_migration where name = ${name}`.execute(t.db);
    const rerun = await migrateToLatest(t.db);
    expect(rerun.results).toEqual([{ migrationName: name, direction: 'Up', status: 'Success' }]);
    const row = await t.db.selectFrom('card_spend_totals').selectAll().where('card_id', '=', card.cardId).executeTakeFirstOrThrow();
    expect({ availableDeltaCents: row.available_delta_cents, heldCents: row.held_cents }).toEqual(before);
    expect((await charge(t, card, 75)).body.authorization.status).toBe('approved');
    expect((await charge(t, card, '0.01')).body.authorization.declineReason).toBe('insufficient_funds');
  });
});
