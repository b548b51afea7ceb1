/**
 * npm run testnet:story: the same agent story as `npm run demo`, against Stellar testnet and a
 * deployed card402. Needs network access (it cannot run offline).
 *
 *   CARD402_API_URL        the deployed card402, e.g. https://cards.example.com (required)
 *   CARD402_TESTNET_SECRET a testnet wallet secret (S...) holding XLM and test USDC (required)
 *   CARD402_RPC_URL        Soroban RPC, default https://soroban-testnet.stellar.org
 *   CARD402_LOAD_USD       initial load, default 5; CARD402_TOPUP_USD top-up, default 5
 *
 * Get testnet XLM from https://friendbot.stellar.org?addr=G..., add a USDC trustline
 * (USDC:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5), and get test USDC from
 * https://faucet.circle.com (Stellar testnet).
 */
import { runAgentStory } from './lib/agent-story.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`testnet story: set ${name} (see the header of scripts/testnet-story.ts)\n`);
    process.exit(2);
  }
  return value;
}

const apiUrl = required('CARD402_API_URL');
const secretKey = required('CARD402_TESTNET_SECRET');

runAgentStory({
  apiUrl,
  rpcUrl: process.env.CARD402_RPC_URL ?? 'https://soroban-testnet.stellar.org',
  network: 'stellar:testnet',
  secretKey,
  loadUsd: process.env.CARD402_LOAD_USD ?? '5',
  topUpUsd: process.env.CARD402_TOPUP_USD ?? '5',
  say: (line) => process.stdout.write(line + '\n'),
}).catch((err: unknown) => {
  process.stderr.write(`\ntestnet story failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
