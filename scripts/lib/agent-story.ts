import { randomUUID } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import { Card402Client } from '../../src/client/card402-client.js';
import { ApiError } from '../../src/client/errors.js';
import type { StellarNetwork } from '../../src/protocol/networks.js';
import { formatAtomic } from '../../src/protocol/money/units.js';

/**
 * The agent story told by `npm run demo` (local ledger) and `npm run testnet:story` (Stellar
 * testnet): the same SDK calls the tests exercise, narrated step by step. Every step checks what
 * it got; the first surprise throws, so the caller can exit non-zero.
 */
export interface StoryOptions {
  apiUrl: string;
  rpcUrl: string;
  network: StellarNetwork;
  /** A funded wallet; without one the story creates a wallet and funds it with `fundWallet`. */
  secretKey?: string;
  fundWallet?: (address: string) => Promise<void>;
  loadUsd: string;
  topUpUsd: string;
  say: (line: string) => void;
}

class StoryError extends Error {
  override name = 'StoryError';
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new StoryError(`unexpected: ${what}`);
}

function mask(cardNumber: string): string {
  return `•••• •••• •••• ${cardNumber.slice(-4)}`;
}

export async function runAgentStory(opts: StoryOptions): Promise<void> {
  const { say } = opts;
  const step = (n: number, title: string) => say(`\n${n}. ${title}`);

  step(1, 'A new agent wallet');
  const keypair = opts.secretKey ? Keypair.fromSecret(opts.secretKey) : Keypair.random();
  say(`   address ${keypair.publicKey()}`);
  const client = new Card402Client({
    baseUrl: opts.apiUrl,
    rpcUrl: opts.rpcUrl,
    network: opts.network,
    signer: keypair,
    onProgress: (event) => {
      if (event.stage === 'submitting') say(event.attempt === 1 ? '   → paying; waiting for the Stellar ledger to settle it…' : `   → resending the same payment (attempt ${event.attempt})`);
      if (event.stage === 'waiting') say(`   … ${event.reason}; retry in ${Math.ceil(event.retryInMs / 1000)} s`);
    },
  });

  step(2, 'Fund it: XLM and test USDC');
  if (opts.fundWallet) await opts.fundWallet(keypair.publicKey());
  const startBalance = await client.usdcBalance();
  say(`   wallet holds ${formatAtomic(startBalance)} USDC`);
  expect(startBalance > 0n, 'the wallet has no USDC to pay with');

  step(3, 'Ask for a card without paying: the server answers 402 Payment Required');
  const unpaid = await fetch(`${opts.apiUrl}/cards/create/tier/${opts.loadUsd}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ nameOnCard: 'Demo Agent', email: 'agent@example.com' }),
  });
  const challenge = (await unpaid.json()) as { accepts?: Array<{ amount: string; payTo: string; network: string }> };
  expect(unpaid.status === 402, `expected 402, got ${unpaid.status}`);
  const ask = challenge.accepts?.[0];
  expect(ask, 'the 402 carries no payment requirements');
  say(`   402: pay ${formatAtomic(BigInt(ask.amount))} USDC to ${ask.payTo} on ${ask.network}`);
  const treasuryStart = await client.usdcBalance(ask.payTo);

  step(4, `Pay and receive the card (load $${opts.loadUsd})`);
  const created = await client.createCard({ amount: opts.loadUsd, nameOnCard: 'Demo Agent', email: 'agent@example.com' });
  const cardId = created.card.cardId;
  say(`   card ${cardId}: balance $${created.card.balance}, status ${created.card.status}`);
  say(`   paid $${created.payment.amountCharged} in tx ${created.payment.txHash}`);
  expect(created.success && created.detailsEnvelope, 'card creation did not succeed or carried no details envelope');
  say(`   details envelope: ${mask(created.detailsEnvelope.cardNumber)} (shown once)`);

  step(5, 'Read the card details with a fresh nonce (wallet-signed)');
  const nonce = randomUUID();
  const details = await client.getDetailsWithNonce(cardId, nonce);
  say(`   ${mask(details.details.cardNumber)} exp ${details.details.expiryMonth}/${details.details.expiryYear}`);
  expect(details.details.cardNumber === created.detailsEnvelope.cardNumber, 'details differ from the envelope');

  step(6, 'Replay the same nonce: refused');
  try {
    await client.getDetailsWithNonce(cardId, nonce);
    throw new StoryError('unexpected: a replayed nonce was accepted');
  } catch (err) {
    expect(err instanceof ApiError && err.status === 409, `expected 409, got ${String(err)}`);
    say(`   409 ${err.code}: ${(err.body as { error?: string }).error ?? ''}`);
  }

  step(7, 'Freeze and unfreeze');
  const frozen = await client.freeze(cardId);
  say(`   status ${frozen.status}`);
  expect(frozen.status === 'frozen', 'card did not freeze');
  const active = await client.unfreeze(cardId);
  say(`   status ${active.status}`);
  expect(active.status === 'active', 'card did not unfreeze');

  step(8, `Top up $${opts.topUpUsd}`);
  const funded = await client.fundCard(cardId, opts.topUpUsd);
  say(`   funded $${funded.fundedAmount} → balance $${funded.newBalance} (paid $${funded.payment.amountCharged})`);

  step(9, 'Spend it: a purchase at a sandbox merchant, captured');
  const merchant = { name: 'Acme Books', mcc: '5942', country: 'US' };
  const bought = await client.sandboxCharge(cardId, { amount: '12.50', merchant });
  say(`   $${bought.authorization.amount} at ${merchant.name}: ${bought.authorization.status}`);
  expect(bought.authorization.status === 'approved', `the purchase was ${bought.authorization.status} (${bought.authorization.declineReason ?? ''})`);
  const captured = await client.sandboxCapture(bought.authorization.id);
  say(`   captured $${captured.authorization.capturedCents / 100}`);
  expect(captured.authorization.state === 'captured', 'the purchase was not captured');

  step(10, 'A spend control: at most $5 a day, so a $6 purchase is declined');
  const limited = await client.setLimit(cardId, { amountCents: 500, frequency: 'per24HourPeriod' });
  say(`   limits: ${limited.controls.limits.map((l) => `$${l.amountCents / 100} ${l.frequency}`).join(', ')}`);
  const declined = await client.sandboxCharge(cardId, { amount: '6', merchant });
  say(`   $6 at ${merchant.name}: ${declined.authorization.status} (${declined.authorization.declineReason ?? ''} ${declined.authorization.declineDetail ?? ''})`);
  expect(declined.authorization.status === 'declined' && declined.authorization.declineReason === 'spending_limit', 'the limit did not decline the purchase');

  step(11, 'Transactions and balance');
  const history = await client.transactions(cardId);
  for (const entry of history.transactions) say(`   ${entry.createdAt}  ${entry.type}  $${entry.amount}${entry.status === 'declined' ? ' (declined)' : ''}`);
  const balance = await client.balance(cardId);
  say(`   balance $${balance.balance}`);
  expect(balance.balanceCents === Math.round(funded.newBalance * 100) - 1250, 'balance is not the top-up result less the purchase');

  step(12, 'The on-chain USDC balance moved by exactly what was charged');
  const endBalance = await client.usdcBalance();
  const spent = startBalance - endBalance;
  say(`   ${formatAtomic(startBalance)} → ${formatAtomic(endBalance)} USDC: spent ${formatAtomic(spent)} USDC`);
  expect(spent === client.spent, `spent ${spent} on-chain but paid ${client.spent}`);
  const received = (await client.usdcBalance(ask.payTo)) - treasuryStart;
  say(`   the treasury received ${formatAtomic(received)} USDC`);
  expect(received === spent, `the treasury received ${received}, the wallet spent ${spent}`);

  step(13, 'Close the card: its balance goes back on-chain to the owner (this wallet)');
  const beforeClose = await client.usdcBalance();
  const closed = await client.closeCard(cardId);
  const refund = closed.closure.refund;
  say(`   card ${closed.status}; refund of $${refund.amount} to ${refund.to}: ${refund.status}${refund.txHash ? ` in tx ${refund.txHash}` : ''}`);
  expect(refund.amountCents === balance.balanceCents && refund.to === keypair.publicKey(), 'the refund is not the card balance to its owner');
  expect(refund.status === 'sent', `the refund is ${refund.status}, not sent`);
  const returned = (await client.usdcBalance()) - beforeClose;
  say(`   wallet USDC rose by ${formatAtomic(returned)}`);
  expect(returned === BigInt(refund.amountAtomic), `the wallet got ${returned} back, the refund says ${refund.amountAtomic}`);
  say('\nEverything behaved.');
}
