import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { saveWallet } from '../../src/cli/wallet-file.js';
import { spawnMcp, textOf, type McpSession } from '../helpers/mcp.js';
import { bootServer, type BootedServer } from '../helpers/server.js';

describe('card402 mcp: request_card and get_payment_request', () => {
  let server: BootedServer;
  let mcp: McpSession;
  let agent: Keypair;

  beforeAll(async () => {
    server = await bootServer();
    agent = Keypair.random(); // no USDC: the owner pays
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-mcp-requests-'));
    const card402Home = path.join(home, '.card402');
    saveWallet(path.join(card402Home, 'wallet.json'), agent, { overwrite: false });
    mcp = await spawnMcp({ HOME: home, CARD402_HOME: card402Home, CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl });
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await server?.close();
  });

  it('the agent asks through MCP, the owner pays from the link, the agent sees the card', async () => {
    const tools = (await mcp.client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['request_card', 'get_payment_request']));

    const asked = await mcp.call('request_card', { amount: '25', nameOnCard: 'Mcp Agent', email: 'mcp@example.com', note: 'for tests' });
    expect(asked.isError, textOf(asked)).toBeFalsy();
    const created = asked.structuredContent as { id: string; approvalUrl: string; price: { amount: string } };
    expect(created.price.amount).toBe('35.88');
    expect(textOf(asked)).toContain(created.approvalUrl);

    const pending = await mcp.call('get_payment_request', { id: created.id });
    expect((pending.structuredContent as { status: string }).status).toBe('pending');

    const owner = await server.fundedWallet('100');
    const ownerClient = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: owner });
    // The server listens on a free port without PUBLIC_BASE_URL: the link is pointed at it.
    const link = created.approvalUrl.replace(/^https?:\/\/[^/]+/, server.apiUrl);
    expect((await ownerClient.approveRequest(link)).status).toBe('completed');

    const done = await mcp.call('get_payment_request', { id: created.id });
    expect(done.structuredContent).toMatchObject({ status: 'completed', card: { nameOnCard: 'Mcp Agent', balanceCents: 2500, ownerAddress: owner.publicKey() } });
    expect(textOf(done)).toMatch(/completed; card [0-9a-f-]{36} \(…\d{4}\), balance \$25\.00/);
    expect(JSON.stringify(done)).not.toMatch(/cvv|cardNumber/i);

    const bad = await mcp.call('get_payment_request', { id: 'nope' });
    expect(bad.isError).toBe(true);
  }, 120_000);
});
