import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { forward, listenProxy, relay } from '../helpers/proxy.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { countingKeypair } from '../helpers/signer.js';

const USDC = 10_000_000n;

/** Forwards to card402 but swallows the response to the first paid request, as a dropped connection would. */
async function lossyProxy(target: string) {
  const seen: string[] = [];
  const app = new Hono();
  app.all('*', async (c) => {
    const payment = c.req.header('PAYMENT-SIGNATURE');
    const upstream = await forward(c, target);
    if (payment) seen.push(payment);
    if (payment && seen.length === 1) {
      await upstream.arrayBuffer(); // the server finished: card issued, money moved…
      return new Promise<Response>(() => {}); // …but the agent never hears about it.
    }
    return relay(upstream);
  });
  return { seen, ...(await listenProxy(app)) };
}

describe('a lost response is answered by resending the same payment, never a new one', () => {
  let server: BootedServer;
  let proxy: Awaited<ReturnType<typeof lossyProxy>>;
  beforeAll(async () => {
    server = await bootServer();
    proxy = await lossyProxy(server.apiUrl);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('gets the card the first attempt bought; one signature, one charge, one card', async () => {
    const { keypair, signatures } = countingKeypair();
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}`);
    await fetch(`${server.friendbotUrl}?addr=${keypair.publicKey()}&asset=USDC&amount=100`);
    const waits: string[] = [];
    const client = new Card402Client({
      baseUrl: proxy.url,
      rpcUrl: server.rpcUrl,
      signer: keypair,
      requestTimeoutMs: 3_000,
      onProgress: (e) => {
        if (e.stage === 'waiting') waits.push(e.reason);
      },
    });
    const created = await client.createCard({ amount: '25', nameOnCard: 'Resend', email: 'r@example.com' });
    expect(proxy.seen).toHaveLength(2);
    expect(proxy.seen[1]).toBe(proxy.seen[0]);
    expect(signatures()).toBe(1);
    expect(waits[0]).toMatch(/no answer/);

    const direct = new Card402Client({ baseUrl: server.apiUrl, signer: keypair });
    const cards = await direct.listCards();
    expect(cards.cards.map((c) => c.cardId)).toEqual([created.card.cardId]);
    expect(await client.usdcBalance()).toBe(100n * USDC - 358_800_000n);
  });
});
