import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Keypair } from '@stellar/stellar-sdk';

export const KEY_DIR_MODE = 0o700;
export const KEY_FILE_MODE = 0o600;

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

function writeSecretFile(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: KEY_FILE_MODE, flag: 'wx' });
  chmodSync(temp, KEY_FILE_MODE);
  renameSync(temp, file);
}

function keyFilePath(dataDir: string, fileName: string): string {
  if (!/^[a-z0-9-]+\.[a-z]+$/.test(fileName)) throw new KeyFileError(`invalid key file name ${fileName}`);
  const dir = path.join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true, mode: KEY_DIR_MODE });
  return path.join(dir, fileName);
}

/** Loads DATA_DIR/keys/<name>.key (base64 random bytes), generating it on first use. */
export function loadOrCreateRandomKeyFile(dataDir: string, name: string, bytes: number): { key: Buffer; created: boolean; file: string } {
  const file = keyFilePath(dataDir, `${name}.key`);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== bytes) throw new KeyFileError(`key file ${file} does not hold ${bytes} base64-encoded bytes`);
    return { key, created: false, file };
  }
  const key = randomBytes(bytes);
  writeSecretFile(file, key.toString('base64') + '\n');
  return { key, created: true, file };
}

/**
 * Loads the Stellar key stored as DATA_DIR/keys/<name>.secret, generating it on first use.
 * The file is written to a temp name with mode 0600 and renamed, so a crash never leaves a
 * half-written or world-readable secret behind.
 */
export function loadOrCreateKeyFile(dataDir: string, name: string): { keypair: Keypair; created: boolean; file: string } {
  const file = keyFilePath(dataDir, `${name}.secret`);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    try {
      return { keypair: Keypair.fromSecret(secret), created: false, file };
    } catch {
      throw new KeyFileError(`key file ${file} does not hold a valid Stellar secret seed`);
    }
  }
  const keypair = Keypair.random();
  writeSecretFile(file, keypair.secret() + '\n');
  return { keypair, created: true, file };
}
