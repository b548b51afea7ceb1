import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Keypair } from '@stellar/stellar-sdk';
import { Card402Client } from '../../client/card402-client.js';
import { quote } from '../../mcp/money.js';
import { skillMarkdown } from '../../mcp/skill.js';
import { formatAtomic, parseDollarsToCents } from '../../protocol/money/units.js';
import { CliError, EXIT } from '../errors.js';
import { clientConfig, detectedClients, type ClientName } from '../mcp-config/clients.js';
import type { CliIo, Output } from '../output.js';
import { fetchFriendbot, friendbotUrl, isLocalFriendbot, testnetFundingSteps, type Settings } from '../settings.js';
import { loadWallet, saveWallet, walletExists } from '../wallet-file.js';
import { installInto, installSummary, type InstallResult } from './install.js';
import { mcpContext } from './mcp.js';

export interface OnboardFlags {
  yes?: boolean;
  client?: string;
  usdc?: string;
}

interface Step {
  step: string;
  ok: boolean;
  detail: string;
}

async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin.isTTY) return false;
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function walletStep(settings: Settings): Promise<{ step: Step; keypair: Keypair }> {
  if (walletExists(settings.walletFile)) {
    const keypair = loadWallet(settings.walletFile);
    return { keypair, step: { step: 'wallet', ok: true, detail: `using ${keypair.publicKey()} (${settings.walletFile})` } };
  }
  const keypair = Keypair.random();
  saveWallet(settings.walletFile, keypair, { overwrite: false });
  return { keypair, step: { step: 'wallet', ok: true, detail: `created ${keypair.publicKey()} (${settings.walletFile}, mode 0600)` } };
}

/** Funds the wallet from the local ledger's friendbot when it holds less than the cheapest card; else says how. */
async function fundingStep(settings: Settings, io: CliIo, keypair: Keypair, usdcText: string): Promise<Step> {
  const client = new Card402Client({ baseUrl: settings.apiUrl, rpcUrl: settings.rpcUrl, network: settings.network, signer: keypair });
  const cheapest = quote('create', '0').totalAtomic;
  const balance = await client.usdcBalance().catch(() => undefined);
  if (balance !== undefined && balance >= cheapest) return { step: 'funding', ok: true, detail: `wallet holds ${formatAtomic(balance)} USDC` };
  const base = friendbotUrl(settings, io.env);
  if (!isLocalFriendbot(base)) {
    const steps = testnetFundingSteps(keypair.publicKey());
    return { step: 'funding', ok: true, detail: `fund the wallet on ${settings.network}:\n${steps.map((s, i) => `    ${i + 1}. ${s}`).join('\n')}` };
  }
  try {
    await fetchFriendbot(`${base}?addr=${keypair.publicKey()}`);
    await fetchFriendbot(`${base}?addr=${keypair.publicKey()}&asset=USDC&amount=${usdcText}`);
  } catch (err) {
    return { step: 'funding', ok: false, detail: `${(err as Error).message} (is the local ledger running? npm start)` };
  }
  return { step: 'funding', ok: true, detail: `funded with XLM and ${usdcText} test USDC on the local ledger` };
}

function writeSkill(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o644 });
}

/**
 * `card402 onboard [-y] [--client NAME]`: a wallet if there is none, funding (local ledger) or the
 * testnet steps, the MCP configuration of the agent clients found (or the one named), the skill
 * file, and the next step. Other programs' files are written only with -y or a yes on a terminal;
 * otherwise the change is shown.
 */
export async function onboardCommand(values: OnboardFlags, settings: Settings, io: CliIo, out: Output): Promise<number> {
  const usdcText = values.usdc ?? '100';
  if (parseDollarsToCents(usdcText) === null) throw new CliError(`--usdc must be a USDC amount, got ${usdcText}`, EXIT.usage);
  const steps: Step[] = [];
  const { keypair, step } = await walletStep(settings);
  steps.push(step);
  steps.push(await fundingStep(settings, io, keypair, usdcText));

  const clients: ClientName[] = values.client ? [clientConfig(values.client, undefined, io.env).client] : detectedClients(io.env);
  const installs: InstallResult[] = [];
  if (clients.length === 0) {
    steps.push({ step: 'mcp', ok: true, detail: 'no agent client found (Claude Code, Cursor, Codex): run card402 install --client claude|cursor|codex' });
  }
  const approved = values.yes === true || (clients.length > 0 && (await confirm(io, `Add card402 to the MCP configuration of ${clients.join(', ')}?`)));
  for (const client of clients) {
    try {
      const result = installInto(clientConfig(client, undefined, io.env), settings, io.env, !approved);
      installs.push(result);
      steps.push({ step: `mcp:${client}`, ok: true, detail: installSummary(result) + (approved ? '' : '\n  run card402 onboard -y to write it') });
    } catch (err) {
      steps.push({ step: `mcp:${client}`, ok: false, detail: (err as Error).message });
    }
  }

  const skill = skillMarkdown(mcpContext(settings, io.env));
  const skillFiles = [path.join(settings.home, 'skills', 'card402', 'SKILL.md')];
  if (approved) {
    for (const client of clients) {
      const dir = clientConfig(client, undefined, io.env).skillsDir;
      if (dir) skillFiles.push(path.join(dir, 'card402', 'SKILL.md'));
    }
  }
  for (const file of skillFiles) writeSkill(file, skill);
  steps.push({ step: 'skill', ok: true, detail: `agent skill written to ${skillFiles.join(', ')}` });

  const configured = installs.filter((r) => !r.dryRun);
  const nextStep = configured.length
    ? `restart ${configured.map((r) => r.client).join(' / ')} and ask your agent: "Use card402: check my wallet status, then buy a $25 card for Ada Agent (ada@example.com)."`
    : clients.length
      ? 'run card402 onboard -y to write the MCP configuration shown above'
      : 'run card402 install --client claude|cursor|codex, then restart that client';
  const ok = steps.every((s) => s.ok);
  out.result({ ok, address: keypair.publicKey(), steps, installs, skillFiles, nextStep }, [...steps.map((s) => `${s.ok ? '✔' : '✘'} ${s.step.padEnd(10)} ${s.detail}`), '', `next: ${nextStep}`].join('\n'));
  return ok ? EXIT.ok : EXIT.failure;
}
