import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

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
