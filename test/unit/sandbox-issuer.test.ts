import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CardDataCipher } from '../../src/cards/card-data.js';
import { IssuerError } from '../../src/cards/issuer.js';
import { SandboxIssuer, isLuhnValid, luhnCheckDigit } from '../../src/cards/sandbox-issuer.js';
import { ManualClock } from '../../src/clock.js';
import { migrateToLatest, type Db } from '../../src/db/open.js';
import { openTestDb, openTestStore } from '../helpers/store.js';

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.destroy()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A store that outlives the process using it (a SQLite file, or a PostgreSQL schema): `start()` is one run of card402 on it. */
function databaseFile() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-sandbox-issuer-'));
  dirs.push(dir);
  const store = openTestStore(path.join(dir, 'card402.sqlite'));
  const cipher = new CardDataCipher(randomBytes(32));
  return {
    async start(capacityCents: number): Promise<{ issuer: SandboxIssuer; stop(): Promise<void> }> {
      const db = store.open();
      await migrateToLatest(db);
      const issuer = new SandboxIssuer({ db, clock: new ManualClock(Date.UTC(2026, 10, 21)), cipher, capacityCents });
      return { issuer, stop: () => db.destroy() };
    },
  };
}

async function memoryIssuer(capacityCents: number): Promise<SandboxIssuer> {
  const db = openTestDb();
  dbs.push(db);
  await migrateToLatest(db);
  return new SandboxIssuer({ db, clock: new ManualClock(Date.UTC(2026, 10, 21)), cipher: new CardDataCipher(randomBytes(32)), capacityCents });
}

const issue = (key: string, loadCents: number) => ({ requestKey: key, nameOnCard: 'Ada', email: 'ada@example.com', loadCents });

describe('sandbox issuer', () => {
  it('issues Luhn-valid numbers in the test BIN, idempotently per request key', async () => {
    const issuer = await memoryIssuer(100_000);
    const key = randomUUID();
    const card = await issuer.issueCard(issue(key, 5_000));
    expect(isLuhnValid(card.details.cardNumber)).toBe(true);
    expect(card.details.cardNumber).toMatch(/^400000\d{10}$/);
    expect(card.details).toMatchObject({ expiryMonth: 11, expiryYear: 2029, cvv: expect.stringMatching(/^\d{3}$/) });
    expect(await issuer.issueCard(issue(key, 5_000))).toEqual(card);
    expect(issuer.calls.issue).toBe(1);
    expect(await issuer.remainingCents()).toBe(95_000);
  });

  it('knows the Luhn check digit', () => {
    expect(luhnCheckDigit('7992739871')).toBe('3');
    expect(isLuhnValid('79927398713')).toBe(false); // too short for a card
    expect(isLuhnValid('4242424242424242')).toBe(true);
    expect(isLuhnValid('4242424242424241')).toBe(false);
  });

  it('enforces capacity and fails on demand', async () => {
    const issuer = await memoryIssuer(1_000);
    expect(await issuer.checkCapacity({ loadCents: 1_000 })).toEqual({ ok: true });
    expect(await issuer.checkCapacity({ loadCents: 1_001 })).toEqual({ ok: false, retryAfterSeconds: 60 });
    issuer.failNext('fund');
    await expect(issuer.fundCard({ requestKey: 'k', providerRef: 'p', amountCents: 10 })).rejects.toBeInstanceOf(IssuerError);
    await issuer.fundCard({ requestKey: 'k', providerRef: 'p', amountCents: 10 });
    await issuer.fundCard({ requestKey: 'k', providerRef: 'p', amountCents: 10 });
    expect(issuer.calls.fund).toBe(1);
    expect(await issuer.remainingCents()).toBe(990);
  });

  it('issues concurrent requests within capacity only, and one card per request key', async () => {
    const issuer = await memoryIssuer(12 * 1_000);
    const keys = Array.from({ length: 20 }, () => randomUUID());
    const outcomes = await Promise.allSettled([...keys, keys[0]!, keys[1]!].map((key) => issuer.issueCard(issue(key, 1_000))));
    const issued = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(new Set(issued.map((o) => o.value.providerRef)).size).toBe(12);
    expect(refused.map((o) => (o.reason as Error).message)).toEqual(Array(outcomes.length - issued.length).fill('sandbox issuer: out of capacity'));
    expect(issuer.calls.issue).toBe(12);
    expect(await issuer.remainingCents()).toBe(0);
  });
});

describe('sandbox issuer across restarts', () => {
  it('capacity used before a restart stays used: a 12-card limit is 12 cards, however often it restarts', async () => {
    const file = databaseFile();
    let issued = 0;
    let refused = 0;
    for (let run = 0; run < 3; run++) {
      const { issuer, stop } = await file.start(12 * 1_000);
      for (let i = 0; i < 9; i++) {
        if ((await issuer.checkCapacity({ loadCents: 1_000 })).ok) {
          await issuer.issueCard(issue(randomUUID(), 1_000));
          issued += 1;
        } else {
          await expect(issuer.issueCard(issue(randomUUID(), 1_000))).rejects.toThrow('out of capacity');
          refused += 1;
        }
      }
      await stop();
    }
    expect({ issued, refused }).toEqual({ issued: 12, refused: 15 });
    const { issuer, stop } = await file.start(12 * 1_000);
    expect(await issuer.remainingCents()).toBe(0);
    expect(await issuer.checkCapacity({ loadCents: 1 })).toEqual({ ok: false, retryAfterSeconds: 60 });
    await stop();
  });

  it('a card issued before a crash is the card a retry after the restart gets: no second card, no second charge on capacity', async () => {
    const file = databaseFile();
    const paymentId = randomUUID();
    const first = await file.start(10_000);
    const card = await first.issuer.issueCard(issue(paymentId, 2_500));
    await first.issuer.fundCard({ requestKey: 'fund-1', providerRef: card.providerRef, amountCents: 500 });
    // The process dies here: card402 never recorded the card.
    await first.stop();

    const second = await file.start(10_000);
    expect(await second.issuer.issueCard(issue(paymentId, 2_500))).toEqual(card);
    await second.issuer.fundCard({ requestKey: 'fund-1', providerRef: card.providerRef, amountCents: 500 });
    expect(second.issuer.calls).toEqual({ issue: 0, fund: 0 });
    expect(await second.issuer.remainingCents()).toBe(7_000);
    await second.stop();
  });

  it('keeps the issued card data sealed with the card data key', async () => {
    const db = openTestDb();
    dbs.push(db);
    await migrateToLatest(db);
    const cipher = new CardDataCipher(randomBytes(32));
    const issuer = new SandboxIssuer({ db, clock: new ManualClock(), cipher, capacityCents: 10_000 });
    const card = await issuer.issueCard(issue(randomUUID(), 0));
    const [row, ...others] = await db.selectFrom('sandbox_issuer_operations').selectAll().execute();
    expect(others).toEqual([]);
    const stored = Buffer.concat(Object.values(row!).map((value) => Buffer.from(String(value)))).toString('latin1') + row!.details_ciphertext!.toString('latin1');
    expect(stored).not.toContain(card.details.cardNumber);
    expect(cipher.decrypt(card.providerRef, row!.details_ciphertext!)).toEqual(card.details);
  });
});
