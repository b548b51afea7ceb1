import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const ESCAPES = '\u001b[2J\u001b]0;owned\u0007\u009b31m\u202e';
/** Control characters (newline aside) and bidi overrides: nothing of these may reach the terminal raw. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('card402 CLI against a server that sends terminal escapes', () => {
  let server: Server;
  let env: Record<string, string>;
  beforeAll(async () => {
    // Whoever names a card (the agent) chooses text the owner's CLI prints; a hostile or
    // compromised server chooses every string.
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/cards/')) {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: `card not found${ESCAPES}`, code: 'CARD_NOT_FOUND' }));
        return;
      }
      res.end(
        JSON.stringify({
          cards: [{ cardId: 'c1', nameOnCard: `Eve${ESCAPES}`, lastFour: '4242', balance: 5, balanceCents: 500, status: 'active', createdAt: '2026-11-21T00:00:00Z' }],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-cli-hostile-'));
    env = { CARD402_HOME: home, CARD402_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, CARD402_RPC_URL: 'http://127.0.0.1:9/soroban/rpc' };
    expect((await cli(['wallet', 'create', '--json'], env)).code).toBe(0);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('prints no control characters in human output or errors; --json keeps the data, escaped', async () => {
    const list = await cli(['cards'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('Eve');
    expect(list.stdout).not.toMatch(UNSAFE);

    const missing = await cli(['card', 'c1'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('card not found');
    expect(missing.stderr.trimEnd()).not.toMatch(UNSAFE);

    const json = await cli(['cards', '--json'], env);
    expect(JSON.parse(json.stdout).cards[0].nameOnCard).toBe(`Eve${ESCAPES}`);
    expect(json.stdout).not.toMatch(UNSAFE);

    const jsonError = await cli(['card', 'c1', '--json'], env);
    expect(JSON.parse(jsonError.stdout).error).toContain(`card not found${ESCAPES}`);
    expect(jsonError.stdout).not.toMatch(UNSAFE);
  }, 60_000);
});
