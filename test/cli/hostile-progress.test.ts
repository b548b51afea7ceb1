import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { forward, listenProxy, relay } from '../helpers/proxy.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

const ESCAPES = '\u001b[2J\u001b]0;owned\u0007\u009b31m\r\nforged line\u202e';
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * card402 behind a proxy that plays a hostile server at the moment the CLI shows server text in
 * its progress line: the first paid submission is answered 503 with escapes in `error` (and
 * Retry-After: 0, so the CLI resends at once); everything else reaches card402 unchanged.
 */
async function hostileProxy(target: string) {
  let refused = 0;
  const app = new Hono();
  app.all('*', async (c) => {
    if (c.req.header('PAYMENT-SIGNATURE') && refused === 0) {
      refused += 1;
      return c.json({ error: `card provider busy${ESCAPES}`, code: 'SERVICE_UNAVAILABLE', reason: 'provider_capacity', retryAfter: 0 }, 503, { 'Retry-After': '0' });
    }
    return relay(await forward(c, target));
  });
  return { refusals: () => refused, ...(await listenProxy(app)) };
}

describe('card402 CLI progress line against a server that sends terminal escapes', () => {
  let server: BootedServer;
  let proxy: Awaited<ReturnType<typeof hostileProxy>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await bootServer();
    proxy = await hostileProxy(server.apiUrl);
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-progress-'));
    env = { CARD402_HOME: home, CARD402_API_URL: proxy.url, CARD402_RPC_URL: server.rpcUrl };
    expect((await cli(['wallet', 'create', '--json'], env)).code).toBe(0);
    const fund = await cli(['wallet', 'fund', '--usdc', '50', '--json'], env);
    expect(fund.code, fund.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('shows the 503 reason without its control characters, then buys the card on the resend', async () => {
    const create = await cli(['card', 'create', '--amount', '5', '--name', 'Progress', '--email', 'p@example.com'], env);
    expect(create.code, create.stderr).toBe(0);
    expect(proxy.refusals()).toBe(1);
    const progress = create.stderr.split('\n').filter((line) => line.startsWith('… '));
    const waiting = progress.find((line) => line.includes('card provider busy'));
    expect(waiting, create.stderr).toMatch(/retrying in 0 s$/);
    // One line per progress event: the server's CR/LF did not forge a line of its own.
    expect(create.stderr).not.toMatch(/^forged line/m);
    for (const line of progress) expect(line, JSON.stringify(line)).not.toMatch(UNSAFE);
    expect(create.stdout).toContain('issued for Progress');
  }, 120_000);
});
