import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { centsToAtomic } from '../../src/protocol/money/units.js';
import { defineProduct, PRODUCTS } from '../../src/payments/products/index.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import { signedPayment, sendPayment } from '../helpers/attack.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';
import { z } from 'zod';

/**
 * A paid product is one module (src/payments/products): this test defines a throwaway one here,
 * registers it beside the real ones, and buys it end to end over real HTTP against the local
 * ledger — 402, payment, settlement, fulfilment in one db transaction, replay — with nothing else
 * of card402 changed for it.
 */

const STICKER_CENTS = 100;

const stickerPack = defineProduct<{ recipient: string }>({
  kind: 'sticker-pack',
  route: '/stickers/:count',
  description: 'A pack of card402 stickers',
  successStatus: 201,
  body: z.object({ recipient: z.string().min(1).max(40) }),
  price(params) {
    const count = Number(params.count);
    if (!/^\d{1,3}$/.test(params.count ?? '') || count < 1 || count > 100) return { ok: false, reason: 'count must be a whole number from 1 to 100' };
    const totalCents = count * STICKER_CENTS;
    return { ok: true, price: { loadCents: 0, cardFeeCents: totalCents, topUpFeeCents: 0, totalCents, totalAtomic: centsToAtomic(totalCents) } };
  },
  async prepare(_ctx, payment, body) {
    return {
      async write(trx, nowMs) {
        // The product's own table (its migration, in a real product) is written in the fulfilment transaction.
        await sql`insert into sticker_orders (payment_id, recipient, count, created_at) values (${payment.id}, ${body.recipient}, ${payment.total_cents / STICKER_CENTS}, ${nowMs})`.execute(trx);
        return { cardId: null, body: { success: true, stickers: payment.total_cents / STICKER_CENTS, recipient: body.recipient, paymentId: payment.id } };
      },
    };
  },
});

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a paid product is one module', () => {
  it('a throwaway product registered beside the real ones is bought end to end', async () => {
    h = await makePaidHarness({ products: [...PRODUCTS, stickerPack] });
    await sql`create table sticker_orders (payment_id text primary key, recipient text not null, count integer not null, created_at bigint not null)`.execute(h.db);
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(100n * USDC);

    const challenge = await fetch(`${h.baseUrl}/stickers/3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: 'Ada' }) });
    expect(challenge.status).toBe(402);
    const required = await bodyOf(challenge);
    expect(required.resource.description).toBe('A pack of card402 stickers');
    expect(required.accepts[0].amount).toBe(centsToAtomic(300).toString());

    const payment = await signedPayment(h, agent, '/stickers/3', { recipient: 'Ada' });
    const response = await sendPayment(h, '/stickers/3', { recipient: 'Ada' }, payment);
    const body = await bodyOf(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({ success: true, stickers: 3, recipient: 'Ada' });
    expect(decodeJsonHeader<{ success: boolean }>(response.headers.get('PAYMENT-RESPONSE')!).success).toBe(true);
    expect(await h.db.selectFrom('payments').select(['kind', 'status']).where('payer', '=', agent.publicKey()).execute()).toEqual([{ kind: 'sticker-pack', status: 'fulfilled' }]);
    expect((await sql<{ n: number }>`select count(*) as n from sticker_orders`.execute(h.db)).rows[0]?.n).toBe(1);
    expect(h.localnet.usdcBalance(agent.publicKey())).toBe(100n * USDC - centsToAtomic(300));

    // The same payment again: the first answer, no second order, no second charge.
    const replay = await sendPayment(h, '/stickers/3', { recipient: 'Ada' }, payment);
    expect(replay.status).toBe(201);
    expect(await bodyOf(replay)).toEqual(body);
    expect((await sql<{ n: number }>`select count(*) as n from sticker_orders`.execute(h.db)).rows[0]?.n).toBe(1);
    await expectNothingLost(h, treasury);
  });

  it("validates the product's own path and body before asking for any payment", async () => {
    h = await makePaidHarness({ products: [...PRODUCTS, stickerPack] });
    const badCount = await fetch(`${h.baseUrl}/stickers/0`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: 'Ada' }) });
    expect(badCount.status).toBe(400);
    expect((await bodyOf(badCount)).error).toContain('count must be');
    const badBody = await fetch(`${h.baseUrl}/stickers/2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({}) });
    expect(badBody.status).toBe(400);
    expect(JSON.stringify(await bodyOf(badBody))).toContain('recipient');
  });

  it('is not sold where it is not registered', async () => {
    h = await makePaidHarness();
    const response = await fetch(`${h.baseUrl}/stickers/3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: 'Ada' }) });
    expect(response.status).toBe(404);
  });
});
