import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Keypair, StrKey } from '@stellar/stellar-sdk';
import { CliError } from './errors.js';

export const WALLET_FILE_MODE = 0o600;
export const WALLET_DIR_MODE = 0o700;

interface WalletFile {
  version: 1;
  publicKey: string;
  secretKey: string;
  createdAt: string;
}

/** Writes JSON readable by the owner only, via a temp file so a crash never leaves half a key. */
export function writePrivateJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: WALLET_DIR_MODE });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2) + '\n', { mode: WALLET_FILE_MODE });
  chmodSync(temp, WALLET_FILE_MODE);
  renameSync(temp, file);
}

export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${err instanceof SyntaxError ? 'not valid JSON' : (err as Error).message}`);
  }
}

export function walletExists(file: string): boolean {
  return existsSync(file);
}

export function loadWallet(file: string): Keypair {
  if (!existsSync(file)) throw new CliError(`no wallet at ${file}: run \`card402 wallet create\` or \`card402 wallet import\``);
  const data = readJsonFile(file) as Partial<WalletFile>;
  if (typeof data.secretKey !== 'string' || !StrKey.isValidEd25519SecretSeed(data.secretKey)) {
    throw new CliError(`wallet file ${file} holds no valid secret key`);
  }
  return Keypair.fromSecret(data.secretKey);
}

export function saveWallet(file: string, keypair: Keypair, opts: { overwrite: boolean }): void {
  if (existsSync(file) && !opts.overwrite) {
    throw new CliError(`a wallet already exists at ${file} (use --force to replace it; its funds stay with its key)`);
  }
  const content: WalletFile = { version: 1, publicKey: keypair.publicKey(), secretKey: keypair.secret(), createdAt: new Date().toISOString() };
  writePrivateJson(file, content);
}

/** Trust-on-first-use record of each API's treasury (payTo), so a swapped treasury is refused. */
export function loadPins(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const data = readJsonFile(file);
  return data && typeof data === 'object' ? (data as Record<string, string>) : {};
}

export function savePin(file: string, apiUrl: string, payTo: string): void {
  writePrivateJson(file, { ...loadPins(file), [apiUrl]: payTo });
}
