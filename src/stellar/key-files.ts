import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';

export const KEY_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/**
 * Loads the Stellar key stored as DATA_DIR/keys/<name>.secret, generating it on first use.
 * The file is written to a temp name with mode 0600 and renamed, so a crash never leaves a
 * half-written or world-readable secret behind.
 */
export function loadOrCreateKeyFile(dataDir: string, name: string): { keypair: Keypair; created: boolean; file: string } {
  if (!/^[a-z0-9-]+$/.test(name)) throw new KeyFileError(`invalid key name ${name}`);
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, `${name}.secret`);
  mkdirSync(dir, { recursive: true, mode: KEY_DIR_MODE });
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    try {
      return { keypair: Keypair.fromSecret(secret), created: false, file };
    } catch {
      throw new KeyFileError(`key file ${file} does not hold a valid Stellar secret seed`);
    }
  }
  const keypair = Keypair.random();
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, keypair.secret() + '\n', { mode: KEY_FILE_MODE, flag: 'wx' });
  chmodSync(temp, KEY_FILE_MODE);
  renameSync(temp, file);
  return { keypair, created: true, file };
}
