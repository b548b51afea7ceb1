import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Keypair } from '@stellar/stellar-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { saveWallet } from '../../src/cli/wallet-file.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { spawnMcp, textOf, type McpSession } from '../helpers/mcp.js';

const data = (result: CallToolResult) => result.structuredContent as Record<string, any>;

describe('card402 mcp: mandates', () => {
  let server: BootedServer;
  let mcp: McpSession;
  let owner: Keypair;

  beforeAll(async () => {
    server = await bootServer();
    owner = await server.fundedWallet('100');
    const home = mkdtempSync(path.join(os.tmpdir(), 'card402-mcp-mandate-'));
    const card402Home = path.join(home, '.card402');
    // The agent's wallet holds nothing: the owner pays through the mandate.
    saveWallet(path.join(card402Home, 'wallet.json'), Keypair.random(), { overwrite: false });
    mcp = await spawnMcp({ HOME: home, CARD402_HOME: card402Home, CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl });
  }, 120_000);
  afterAll(async () => {
    await mcp?.close();
    await server?.close();
  });

  it('request_mandate → the owner approves → create_card_with_mandate → get_mandate → revoked: a clear refusal', async () => {
    const requested = await mcp.call('request_mandate', { ownerAddress: owner.publicKey(), amount: '20', period: 'total', note: 'mcp test' });
    expect(requested.isError, textOf(requested)).toBeFalsy();
    const id = data(requested).id as string;
    expect(textOf(requested)).toContain(data(requested).approvalUrl);

    const ownerClient = new Card402Client({ baseUrl: server.apiUrl, rpcUrl: server.rpcUrl, signer: owner });
    expect((await ownerClient.approveMandate(id)).phase).toBe('active');

    const bought = await mcp.call('create_card_with_mandate', { mandateId: id, amount: '0', nameOnCard: 'Mcp Mandate', email: 'mcp@example.com' });
    expect(bought.isError, textOf(bought)).toBeFalsy();
    expect(data(bought).payment.amountCharged).toBe('10.00');
    expect(JSON.stringify(bought)).not.toMatch(/cvv|cardNumber/i);

    const shown = await mcp.call('get_mandate', { mandateId: id });
    expect(textOf(shown)).toContain('spent $10.00');

    await ownerClient.revokeMandate(id);
    const refused = await mcp.call('create_card_with_mandate', { mandateId: id, amount: '0', nameOnCard: 'Mcp Mandate', email: 'mcp@example.com' });
    expect(refused.isError).toBe(true);
    expect(data(refused).error.code).toBe('MANDATE_REVOKED');
    expect(textOf(refused)).toContain('Next step:');
  }, 120_000);
});
