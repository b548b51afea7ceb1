import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Keypair } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { serveHttp } from '../../src/http/kernel/serve.js';
import { NETWORK_PASSPHRASES } from '../../src/protocol/networks.js';
import { payAndFetch } from '../helpers/pay-and-fetch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function get(port: number, agent: http.Agent): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
      })
      .on('error', reject);
  });
}

describe('serveHttp drain', () => {
  it('stops listening at once, answers the request in flight with Connection: close, and resolves when it is done', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    const served = await serveHttp(
      async () => {
        arrived();
        await held;
        return new Response('done');
      },
      { port: 0, hostname: '127.0.0.1' },
    );
    const agent = new http.Agent({ keepAlive: true });
    const inFlight = get(served.port, agent);
    await inHandler;
    let drained = false;
    const draining = served.drain(10_000).then((ok) => ((drained = true), ok));
    await expect(get(served.port, new http.Agent())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(drained).toBe(false);
    release();
    expect(await inFlight).toEqual({ status: 200, connection: 'close', body: 'done' });
    expect(await draining).toBe(true);
    agent.destroy();
  });

  it('cuts what is still open when the grace period ends', async () => {
    let arrived!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    const served = await serveHttp(
      async () => {
        arrived();
        return new Promise<Response>(() => undefined); // never answers
      },
      { port: 0, hostname: '127.0.0.1' },
    );
    const stuck = get(served.port, new http.Agent());
    await inHandler;
    expect(await served.drain(50)).toBe(false);
    await expect(stuck).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});

/** card402 exactly as `npm start` runs it, in a child process, with the embedded ledger. */
function startChild(dataDir: string): { child: ChildProcess; output: () => string; waitFor(pattern: RegExp, from?: number): Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dataDir,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOCALNET_PORT: '0',
      LOCALNET_LEDGER_MS: '1000',
      STELLAR_LEDGER_SECONDS: '1',
      LOG_LEVEL: 'debug',
      CHANNEL_ACCOUNTS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => output,
    waitFor(pattern, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output.slice(from));
          if (match) {
            listeners.delete(check);
            child.off('exit', onExit);
            resolve(match);
          }
        };
        const onExit = (code: number | null) => reject(new Error(`card402 exited (${code}) before ${pattern}:\n${output}`));
        child.once('exit', onExit);
        listeners.add(check);
        check();
      });
    },
  };
}

describe('SIGTERM on a running card402 (child process)', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('refuses new connections, lets the paid request in flight settle and answer, then exits 0 with the payment fulfilled', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'card402-shutdown-'));
    dirs.push(dataDir);
    const card402 = startChild(dataDir);
    children.push(card402.child);
    const [, apiUrl] = await card402.waitFor(/card402 is up at (http:\/\/\S+)/);
    const [, rpcUrl] = await card402.waitFor(/local Stellar ledger: (http:\/\/\S+)/);
    const [, friendbot] = await card402.waitFor(/friendbot: (http:\/\/\S+)\?addr/);

    const payer = Keypair.random();
    expect((await fetch(`${friendbot}?addr=${payer.publicKey()}`)).ok).toBe(true);
    expect((await fetch(`${friendbot}?addr=${payer.publicKey()}&asset=USDC&amount=100`)).ok).toBe(true);

    // The settlement's transaction is queued on the ledger: the paid request is in flight. Then SIGTERM.
    const mark = card402.output().length;
    const paid = payAndFetch(
      fetch,
      `${apiUrl}/cards/create/tier/25`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nameOnCard: 'Shut Down', email: 's@example.com' }) },
      { keypair: payer, networkPassphrase: NETWORK_PASSPHRASES['stellar:testnet'], rpc: rpcUrl! },
    );
    await card402.waitFor(/"msg":"localnet_tx_queued"/, mark);
    // 'close', not 'exit': 'exit' can come before the child's stdout has been read to the end.
    const exited = new Promise<number | null>((resolve) => card402.child.once('close', resolve));
    card402.child.kill('SIGTERM');
    await card402.waitFor(/"msg":"shutting down"/, mark);
    await expect(fetch(`${apiUrl}/health`)).rejects.toThrow();

    const { response } = await paid;
    expect(response.status, await response.clone().text()).toBe(201);
    const { card } = (await response.json()) as { card: { cardId: string } };
    expect(await exited).toBe(0);
    expect(card402.output()).toMatch(/"msg":"stopped"/);
    expect(card402.output()).not.toMatch(/were cut|still settling at shutdown/);

    const db = new Database(path.join(dataDir, 'card402.sqlite'), { readonly: true });
    const rows = db.prepare('select status, card_id from payments').all();
    db.close();
    expect(rows).toEqual([{ status: 'fulfilled', card_id: card.cardId }]);
  }, 60_000);
});
