import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { friendbot } from './friendbot.js';
import type { Ledger } from './ledger.js';
import { handleRpc, JSONRPC, parseErrorResponse } from './rpc.js';

// Far above any real transaction (the network caps them at 128 KiB), small enough that junk cannot hurt.
const MAX_BODY_BYTES = 1024 * 1024;

export function createLocalnetApp(ledger: Ledger, log: (event: string, fields?: Record<string, unknown>) => void): Hono {
  const app = new Hono();

  app.post(
    '/soroban/rpc',
    bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ jsonrpc: '2.0', id: null, error: { code: JSONRPC.INVALID_REQUEST, message: 'request too large' } }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return c.json(parseErrorResponse());
      }
      const friendbotUrl = new URL('/friendbot', c.req.url).toString();
      return c.json(handleRpc(body, { ledger, friendbotUrl }));
    },
  );

  const fund = (c: { req: { query: (k: string) => string | undefined } }) =>
    friendbot(ledger, { addr: c.req.query('addr'), asset: c.req.query('asset'), amount: c.req.query('amount') });
  app.get('/friendbot', (c) => {
    const r = fund(c);
    return c.json(r.body, r.status);
  });
  // stellar-sdk's requestAirdrop POSTs to the friendbot URL.
  app.post('/friendbot', (c) => {
    const r = fund(c);
    return c.json(r.body, r.status);
  });

  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    log('localnet_http_error', { path: c.req.path, error: err instanceof Error ? err.message : String(err) });
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
