import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import type { CardDataCipher } from '../../src/cards/card-data.js';
import type { Clock } from '../../src/clock.js';
import type { Db } from '../../src/db/open.js';
import { createMemoryLogger } from '../../src/logger.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with one request: answer with a status (and headers), or hold it until released. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | { hold: true };

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number): Promise<void>;
  /** Answers every held request with `status`. */
  release(status: number): void;
}

/** A real HTTP server on a free loopback port that records every webhook it gets; closed after the test. */
export async function startWebhookReceiver(answer: (index: number) => ReceiverAnswer = () => ({ status: 200 })): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const held: http.ServerResponse[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = received.length;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters.splice(0)) (received.length >= w.n ? w.resolve() : waiters.push(w));
      const a = answer(index);
      if ('hold' in a) held.push(res);
      else res.writeHead(a.status, a.headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    waitFor: (n) => (received.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    release: (status) => {
      for (const res of held.splice(0)) res.writeHead(status).end('late');
    },
  };
}

/**
 * The webhook dispatcher as server.ts builds it, over a test's database, clock and card data key,
 * with private addresses allowed (the receivers above listen on loopback) unless told otherwise.
 */
export function testDispatcher(
  t: { db: Db; clock: Clock; cipher: CardDataCipher },
  opts: { allowPrivateAddresses?: boolean } = {},
): WebhookDispatcher {
  return new WebhookDispatcher({
    db: t.db,
    clock: t.clock,
    logger: createMemoryLogger(),
    masterKey: t.cipher.deriveKey('webhook-secrets'),
    allowPrivateAddresses: opts.allowPrivateAddresses ?? true,
    timeoutMs: 5_000,
    retryBaseMs: 1_000,
  });
}
