import { Keypair } from '@stellar/stellar-sdk';
import { Card402Client } from '../../src/client/card402-client.js';
import { ApiError } from '../../src/client/errors.js';
import type { StellarNetwork } from '../../src/protocol/networks.js';
import { formatAtomic } from '../../src/protocol/money/units.js';

/**
 * The mandate story of `npm run demo` (issue 17): an owner grants an agent a monthly budget
 * on-chain, the agent buys twice without asking, a third purchase is refused by the rule, and the
 * owner revokes the allowance. Every step checks what it got; the first surprise throws.
 */
export interface MandateStoryOptions {
  apiUrl: string;
  rpcUrl: string;
  network: StellarNetwork;
  /** Creates the owner's account and gives it test USDC. */
  fundWallet: (address: string) => Promise<void>;
  say: (line: string) => void;
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`unexpected: ${what}`);
}

async function refusal(p: Promise<unknown>): Promise<{ code?: string; error?: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return err.body as { code?: string; error?: string };
    throw err;
  }
  throw new Error('unexpected: the purchase went through');
}

export async function runMandateStory(opts: MandateStoryOptions): Promise<void> {
  const { say } = opts;
  const step = (n: string, title: string) => say(`\n${n}. ${title}`);
  const client = (signer: Keypair) => new Card402Client({ baseUrl: opts.apiUrl, rpcUrl: opts.rpcUrl, network: opts.network, signer });

  step('M1', 'An owner with USDC, and an agent with none');
  const owner = Keypair.random();
  const agent = Keypair.random();
  await opts.fundWallet(owner.publicKey());
  const ownerClient = client(owner);
  const agentClient = client(agent);
  const before = await ownerClient.usdcBalance();
  say(`   owner ${owner.publicKey()} holds ${formatAtomic(before)} USDC`);
  say(`   agent ${agent.publicKey()}`);

  step('M2', 'The agent asks for a mandate: $25 a month');
  const requested = await agentClient.requestMandate({ ownerAddress: owner.publicKey(), rules: [{ amount: '25', period: 'monthly' }], note: 'demo budget' });
  expect(requested.phase === 'requires-verification', 'a new mandate waits for the owner');
  say(`   ${requested.id}: ${requested.phase}, allowance ${requested.allowance} USDC until ${requested.expiresAt}`);
  say(`   approval link: ${opts.apiUrl}/mandates/${requested.id}/approve`);

  step('M3', 'The owner approves it on-chain (signs only the approve authorization; card402 pays the fee)');
  const approved = await ownerClient.approveMandate(requested.id);
  expect(approved.phase === 'active', `the mandate is ${approved.phase}`);
  say(`   active; on-chain allowance to card402's mandate account: ${approved.allowanceLeft} USDC`);

  step('M4', 'The agent buys two cards within the mandate, without asking');
  for (const n of [1, 2]) {
    const bought = await agentClient.createCardWithMandate(requested.id, { amount: 0, nameOnCard: 'Mandate Agent', email: 'agent@example.com' });
    say(`   card ${n}: ${bought.card.cardId}, charged $${bought.payment.amountCharged.toFixed(2)} to the owner (tx ${bought.payment.txHash})`);
  }
  const spent = await agentClient.getMandate(requested.id);
  say(`   spent this month: $${spent.rules[0]!.spent} of $${spent.rules[0]!.amount}; allowance left on-chain ${spent.allowanceLeft} USDC`);

  step('M5', 'A third purchase is refused by the monthly rule, before anything is sent');
  const ruled = await refusal(agentClient.createCardWithMandate(requested.id, { amount: 0, nameOnCard: 'Mandate Agent', email: 'agent@example.com' }));
  expect(ruled.code === 'MANDATE_RULE_EXCEEDED', `refused with ${ruled.code}`);
  say(`   403 ${ruled.code}: ${ruled.error}`);

  step('M6', 'The owner revokes the mandate, clearing the allowance on-chain');
  const revoked = await ownerClient.revokeMandate(requested.id);
  expect(revoked.phase === 'revoked', `the mandate is ${revoked.phase}`);
  say(`   revoked (tx ${revoked.revokeTxHash})`);
  const after = await refusal(agentClient.createCardWithMandate(requested.id, { amount: 0, nameOnCard: 'Mandate Agent', email: 'agent@example.com' }));
  expect(after.code === 'MANDATE_REVOKED', `refused with ${after.code}`);
  say(`   the agent's next purchase: 403 ${after.code}`);
  const owed = before - (await ownerClient.usdcBalance());
  expect(owed === 20n * 10_000_000n, `the owner paid ${formatAtomic(owed)} USDC`);
  say(`   the owner paid ${formatAtomic(owed)} USDC in all, for two cards`);
}
