import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApprovalUrl } from '../../src/cli/commands/mandate.js';
import { bootServer, type BootedServer } from '../helpers/server.js';
import { cli } from '../helpers/cli.js';

describe('card402 mandate (CLI) against a running server', () => {
  let server: BootedServer;
  let agentEnv: Record<string, string>;
  let ownerEnv: Record<string, string>;
  let ownerAddress: string;
  beforeAll(async () => {
    server = await bootServer();
    const home = (who: string) => mkdtempSync(path.join(os.tmpdir(), `card402-cli-${who}-`));
    agentEnv = { CARD402_HOME: home('agent'), CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    ownerEnv = { CARD402_HOME: home('owner'), CARD402_API_URL: server.apiUrl, CARD402_RPC_URL: server.rpcUrl };
    expect((await cli(['wallet', 'create'], agentEnv)).code).toBe(0);
    const owner = await cli(['wallet', 'create', '--json'], ownerEnv);
    ownerAddress = JSON.parse(owner.stdout).address;
    expect((await cli(['wallet', 'fund', '--usdc', '100'], ownerEnv)).code).toBe(0);
  }, 180_000); // three CLI processes, each starting tsx
  afterAll(async () => {
    await server?.close();
  });

  it('request → approve from the link → buy with --mandate → show → revoke', async () => {
    const requested = await cli(['mandate', 'request', '--owner', ownerAddress, '--amount', '30', '--per', 'month', '--note', 'groceries', '--json'], agentEnv);
    expect(requested.code, requested.stderr + requested.stdout).toBe(0);
    const mandate = JSON.parse(requested.stdout);
    expect(mandate).toMatchObject({ phase: 'requires-verification', ownerAddress, note: 'groceries' });
    // The link carries the server's public URL; this test server listens on a port picked at start.
    const { id } = parseApprovalUrl(mandate.approvalUrl);
    expect(id).toBe(mandate.id);
    const link = `${server.apiUrl}/mandates/${id}/approve`;

    const human = await cli(['mandate', 'approve', link], ownerEnv);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`mandate ${id}: active`);
    expect(human.stdout).toContain('approved on-chain');

    const bought = await cli(['card', 'create', '--amount', '5', '--name', 'Cli Mandate', '--email', 'cli@example.com', '--mandate', id, '--json'], agentEnv);
    expect(bought.code, bought.stderr + bought.stdout).toBe(0);
    expect(JSON.parse(bought.stdout).payment.amountCharged).toBe(15.18); // $10 + $5 + 3.5% of 5 = 15.175 → 15.18

    const shown = await cli(['mandate', 'show', id], agentEnv);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('spent 15.18');

    const refused = await cli(['card', 'create', '--amount', '10', '--name', 'Cli Mandate', '--email', 'cli@example.com', '--mandate', id], agentEnv);
    expect(refused.code).toBe(3); // API error
    expect(refused.stderr).toContain('monthly rule');

    const revoked = await cli(['mandate', 'revoke', id, '--json'], ownerEnv);
    expect(revoked.code, revoked.stderr + revoked.stdout).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ phase: 'revoked', endReason: 'owner', revokeTxHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  }, 240_000);

  it('refuses links that are not approval links, and usage errors exit 2', async () => {
    expect((await cli(['mandate', 'approve', 'https://example.com/cards/1'], ownerEnv)).code).toBe(2);
    expect((await cli(['mandate', 'request', '--owner', ownerAddress, '--amount', '5', '--per', 'fortnight'], agentEnv)).code).toBe(2);
  }, 120_000);
});
