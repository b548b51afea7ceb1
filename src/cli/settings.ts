import { homedir } from 'node:os';
import path from 'node:path';
import { NETWORKS, type StellarNetwork } from '../protocol/networks.js';
import { centsToAtomic, parseDollarsToCents } from '../protocol/money/units.js';
import { CliError, EXIT } from './errors.js';

/**
 * The CLI's settings (flags over environment over defaults), shared by every command and by
 * `card402 mcp`, so an agent's MCP server pays and signs exactly as the CLI would.
 */
export interface Settings {
  json: boolean;
  apiUrl: string;
  rpcUrl: string;
  network: StellarNetwork;
  /** CARD402_HOME: wallet, pins, skill file. */
  home: string;
  walletFile: string;
  pinsFile: string;
  /** Most that one run (a command, or one `card402 mcp` session) may pay in total. */
  spendCapAtomic: bigint;
  /** Most that any single payment may cost (default: the spend cap). */
  maxPaymentAtomic: bigint;
}

/** The flags settingsFrom reads (parseArgs values). */
export interface SettingFlags {
  json?: boolean;
  api?: string;
  rpc?: string;
  network?: string;
  wallet?: string;
  'spend-cap'?: string;
  'max-payment'?: string;
}

export const DEFAULT_API_URL = 'http://localhost:4020';
export const DEFAULT_RPC_URL = 'http://localhost:8000/soroban/rpc';
export const DEFAULT_SPEND_CAP_DOLLARS = '100';

export function userHome(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir();
}

function dollarsSetting(text: string, flag: string): bigint {
  const cents = parseDollarsToCents(text);
  if (cents === null) throw new CliError(`${flag} must be dollars with at most two decimals, got ${text}`, EXIT.usage);
  return centsToAtomic(cents);
}

export function settingsFrom(values: SettingFlags, env: NodeJS.ProcessEnv): Settings {
  const home = env.CARD402_HOME ?? path.join(userHome(env), '.card402');
  const network = values.network ?? env.CARD402_NETWORK ?? 'stellar:testnet';
  if (!(NETWORKS as readonly string[]).includes(network)) throw new CliError(`--network must be one of ${NETWORKS.join(', ')}`, EXIT.usage);
  const spendCapAtomic = dollarsSetting(values['spend-cap'] ?? env.CARD402_SPEND_CAP ?? DEFAULT_SPEND_CAP_DOLLARS, '--spend-cap');
  const maxPaymentText = values['max-payment'] ?? env.CARD402_MAX_PAYMENT;
  return {
    json: values.json ?? false,
    apiUrl: (values.api ?? env.CARD402_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, ''),
    rpcUrl: values.rpc ?? env.CARD402_RPC_URL ?? DEFAULT_RPC_URL,
    network: network as StellarNetwork,
    home,
    walletFile: path.resolve(values.wallet ?? env.CARD402_WALLET ?? path.join(home, 'wallet.json')),
    pinsFile: path.join(home, 'pins.json'),
    spendCapAtomic,
    maxPaymentAtomic: maxPaymentText === undefined ? spendCapAtomic : dollarsSetting(maxPaymentText, '--max-payment'),
  };
}

/** The friendbot beside a local ledger's RPC (or CARD402_FRIENDBOT_URL), else testnet's. */
export function friendbotUrl(settings: Settings, env: NodeJS.ProcessEnv): string {
  if (env.CARD402_FRIENDBOT_URL) return env.CARD402_FRIENDBOT_URL;
  const local = settings.rpcUrl.replace(/\/soroban\/rpc\/?$/, '');
  return local === settings.rpcUrl ? 'https://friendbot.stellar.org' : `${local}/friendbot`;
}

/** A friendbot that mints test USDC: the local ledger's (testnet's only gives XLM). */
export function isLocalFriendbot(base: string): boolean {
  return base.endsWith('/friendbot') && !base.includes('stellar.org');
}

export async function fetchFriendbot(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new CliError(`friendbot unreachable at ${new URL(url).origin}: ${(err as Error).message}`);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new CliError(`friendbot refused: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  return body;
}

/** How to fund a wallet on Stellar testnet by hand (no local ledger to mint from). */
export function testnetFundingSteps(address: string): string[] {
  return [
    `get XLM: https://friendbot.stellar.org?addr=${address}`,
    'add a trustline to USDC:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5',
    'get test USDC from https://faucet.circle.com (Stellar testnet)',
  ];
}
