/**
 * npm run demo: the agent story end to end on this machine. Starts card402 with its embedded
 * local ledger on free ports (or uses CARD402_API_URL + CARD402_RPC_URL [+ CARD402_FRIENDBOT_URL]
 * when given), then narrates: wallet → friendbot → 402 → pay → card → details → replay refused →
 * freeze/unfreeze → top-up → history → on-chain balance → close, balance back on-chain; then the
 * owner story (an agent with no money asks, its owner approves and pays from the CLI) and the mandate
 * story (an owner's on-chain budget: approved, two purchases, a third refused by the rule, revoked).
 * Exits 0 only if every step behaved.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/logger.js';
import { loadServerConfig, startCard402, type RunningCard402 } from '../src/server.js';
import { runAgentStory } from './lib/agent-story.js';
import { runOwnerStory } from './lib/owner-story.js';
import { runMandateStory } from './lib/mandate-story.js';

const say = (line: string) => process.stdout.write(line + '\n');

async function friendbot(url: string): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`friendbot ${new URL(url).pathname} answered HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  let running: RunningCard402 | undefined;
  let dataDir: string | undefined;
  let apiUrl = process.env.CARD402_API_URL;
  let rpcUrl = process.env.CARD402_RPC_URL;
  let friendbotUrl = process.env.CARD402_FRIENDBOT_URL;

  if (!apiUrl || !rpcUrl) {
    dataDir = mkdtempSync(path.join(tmpdir(), 'card402-demo-'));
    say('Starting card402 with its embedded local Stellar ledger (1 s ledgers)…');
    const config = loadServerConfig({ PORT: '0', LOCALNET_PORT: '0', LOCALNET_LEDGER_MS: '1000', STELLAR_LEDGER_SECONDS: '1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    running = await startCard402(config, createLogger({ level: 'warn', write: (line) => process.stderr.write(line + '\n') }));
    apiUrl = running.url;
    rpcUrl = running.rpcUrl;
    friendbotUrl = running.localnet?.friendbotUrl;
    say(`card402 at ${apiUrl}, ledger RPC at ${rpcUrl}`);
  }
  const fb = friendbotUrl ?? rpcUrl.replace(/\/soroban\/rpc\/?$/, '/friendbot');

  try {
    await runAgentStory({
      apiUrl,
      rpcUrl,
      network: 'stellar:testnet',
      loadUsd: '25',
      topUpUsd: '10',
      say,
      fundWallet: async (address) => {
        await friendbot(`${fb}?addr=${address}`);
        say('   friendbot: 10,000 XLM');
        await friendbot(`${fb}?addr=${address}&asset=USDC&amount=100`);
        say('   friendbot: 100 test USDC');
      },
    });
    await runOwnerStory({
      apiUrl,
      rpcUrl,
      friendbotUrl: fb,
      loadUsd: '25',
      say,
      // The embedded server listens on a free port, so its links (PUBLIC_BASE_URL) are pointed at it here.
      ...(running ? { localLink: (link: string) => link.replace(/^https?:\/\/[^/]+/, apiUrl!) } : {}),
    });
    say('\nAnd with a mandate: the owner grants a budget once, on-chain.');
    await runMandateStory({
      apiUrl,
      rpcUrl,
      network: 'stellar:testnet',
      say,
      fundWallet: async (address) => {
        await friendbot(`${fb}?addr=${address}`);
        await friendbot(`${fb}?addr=${address}&asset=USDC&amount=100`);
      },
    });
    say(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
