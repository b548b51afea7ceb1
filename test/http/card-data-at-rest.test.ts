import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Db } from '../../src/db/open.js';
import { openTestStore, testDialect } from '../helpers/store.js';
import { makeTestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { seedCard, signedRequest, v1, type SeededCard } from '../helpers/wallet.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Strings whose presence would mean card data (or a details nonce) was stored or logged in clear. */
function secretsOf(card: SeededCard): string[] {
  return [
    card.details.cardNumber,
    `"cvv":"${card.details.cvv}"`,
    `"cvv": "${card.details.cvv}"`,
    card.details.billingAddress.line1,
  ];
}

/**
 * Everything the store holds, as text, and closes it: the SQLite file and its WAL byte for byte, or
 * on PostgreSQL every row of every table of its schema (blobs as latin1 and as hex).
 */
async function storedBytes(db: Db, dir: string): Promise<string> {
  if (testDialect() === 'sqlite') {
    await db.destroy();
    const files = readdirSync(dir).filter((name) => name.startsWith('card402.sqlite'));
    expect(files).toContain('card402.sqlite');
    return files
      .map((name) => readFileSync(path.join(dir, name)))
      .map((buf) => `${buf.toString('latin1')}\n${buf.toString('hex')}`)
      .join('\n');
  }
  const { rows: tables } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db);
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db);
    for (const row of rows) for (const value of Object.values(row)) parts.push(Buffer.isBuffer(value) ? `${value.toString('latin1')}\n${value.toString('hex')}` : String(value));
  }
  await db.destroy();
  return parts.join('\n');
}

describe('card data at rest and in logs', () => {
  it('the store (the SQLite file and its WAL, or every PostgreSQL row) holds no card number, CVV, billing address or details nonce in clear; no log line does either', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-at-rest-'));
    dirs.push(dir);
    const db = openTestStore(path.join(dir, 'card402.sqlite')).open();
    const t = await makeTestApp({ db });
    const agent = Keypair.random();
    const owner = Keypair.random();
    const cards = [await seedCard(t, { agent, owner, loadCents: 2_000 }), await seedCard(t, { agent })];

    const nonces: string[] = [];
    const signatures: string[] = [];
    for (const [index, card] of cards.entries()) {
      for (let i = 0; i < 3; i++) {
        const nonce = randomUUID();
        nonces.push(nonce);
        const headers = v1(t, agent, { timestamp: Math.floor(t.clock.nowMs() / 1000) + index * 10 + i });
        signatures.push(headers['X-WALLET-SIGNATURE']!);
        const res = await t.app.request(`/cards/${card.cardId}/details`, { headers: { ...headers, 'X-AGENT-NONCE': nonce } });
        const body = await bodyOf(res);
        expect(res.status, JSON.stringify(body)).toBe(200);
        expect(body.details.cardNumber).toBe(card.details.cardNumber); // the data is really there, encrypted
      }
      // Failures and other routes log too.
      await t.app.request(`/cards/${card.cardId}/details`, { headers: { ...v1(t, Keypair.random()), 'X-AGENT-NONCE': randomUUID() } });
      await signedRequest(t, agent, 'GET', `/cards/${card.cardId}`);
      await signedRequest(t, agent, 'GET', '/cards');
    }
    // A row whose ciphertext belongs to another card fails authentication: a 500 that is logged.
    const moved = await seedCard(t, { agent: owner });
    const foreignBlob = t.deps.cardCipher.encrypt(cards[0]!.cardId, cards[0]!.details);
    await t.db.updateTable('cards').set({ details_ciphertext: foreignBlob }).where('id', '=', moved.cardId).execute();
    const broken = await signedRequest(t, owner, 'GET', `/cards/${moved.cardId}/details`, { headers: { 'X-AGENT-NONCE': randomUUID() } });
    const brokenBody = await bodyOf(broken);
    expect(broken.status).toBe(500);
    expect(JSON.stringify(brokenBody)).not.toContain(cards[0]!.details.cardNumber);
    expect(t.logs.some((line) => line.includes('unhandled error'))).toBe(true);
    const bytes = await storedBytes(db, dir);
    expect(bytes).toContain(cards[0]!.cardId); // sanity: we are reading the right database
    for (const card of cards) for (const secret of secretsOf(card)) expect(bytes).not.toContain(secret);
    for (const nonce of nonces) expect(bytes).not.toContain(nonce);

    expect(t.logs.length).toBeGreaterThan(10);
    const logText = t.logs.join('\n');
    for (const card of cards) for (const secret of secretsOf(card)) expect(logText).not.toContain(secret);
    for (const nonce of nonces) expect(logText).not.toContain(nonce);
    for (const signature of signatures) expect(logText).not.toContain(signature);
  });

  it('card sessions and secrets sessions: no redeem token, secret key or card data in the store or the logs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'card402-at-rest-'));
    dirs.push(dir);
    const db = openTestStore(path.join(dir, 'card402.sqlite')).open();
    const t = await makeTestApp({ db });
    const agent = Keypair.random();
    const card = await seedCard(t, { agent });
    const json = { 'content-type': 'application/json' };

    const tokens: string[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const created = await bodyOf(await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/sessions`, { body: '{"maxRedeemCount":2}', headers: json }));
      tokens.push(created.redeemToken);
      const ok = await t.app.request(`/card-sessions/${created.session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': created.redeemToken } });
      expect(ok.status).toBe(200);
      // Refusals log too: a tampered token, a token for another session.
      const tampered = await t.app.request(`/card-sessions/${created.session.id}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': `${created.redeemToken}x` } });
      expect(JSON.stringify(await bodyOf(tampered))).not.toContain(created.redeemToken);
      await t.app.request(`/card-sessions/cs_${'0'.repeat(32)}/redeem`, { method: 'POST', headers: { 'X-Scoped-Token': created.redeemToken } });

      const secrets = await bodyOf(await signedRequest(t, agent, 'POST', '/cards/secrets/session'));
      keys.push(secrets.secretKey);
      const body = JSON.stringify({ sessionId: secrets.sessionId });
      expect((await signedRequest(t, agent, 'POST', `/cards/${card.cardId}/secrets`, { body, headers: json })).status).toBe(200);
    }
    // One secrets session left unused: its key is in the database only encrypted.
    const unused = await bodyOf(await signedRequest(t, agent, 'POST', '/cards/secrets/session'));
    keys.push(unused.secretKey);
    const bytes = await storedBytes(db, dir);
    expect(bytes).toContain(card.cardId);
    const logText = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(5);
    for (const token of tokens) {
      const signature = token.split('.')[2]!;
      for (const where of [bytes, logText]) {
        expect(where).not.toContain(token);
        expect(where).not.toContain(signature);
      }
    }
    for (const key of keys) {
      for (const where of [bytes, logText]) expect(where).not.toContain(key);
    }
    for (const secret of secretsOf(card)) {
      expect(bytes).not.toContain(secret);
      expect(logText).not.toContain(secret);
    }
  });
});
