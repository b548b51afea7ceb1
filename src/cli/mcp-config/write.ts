import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClientConfig, ServerEntry } from './clients.js';
import { SERVER_NAME } from './clients.js';
import { readJsonServer, setJsonServer } from './json-config.js';
import { readTomlTable, setTomlTable } from './toml-table.js';

export interface ConfigChange {
  file: string;
  before: string | undefined;
  after: string;
  changed: boolean;
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** What installing card402 into this client's configuration would change (nothing is written). */
export function planInstall(config: ClientConfig, server: ServerEntry): ConfigChange {
  const before = readIfExists(config.file);
  const entry = config.entry(server);
  const name = path.basename(config.file);
  const after =
    config.format === 'json'
      ? setJsonServer(before ?? '', config.serversPath, SERVER_NAME, entry, name)
      : setTomlTable(before ?? '', [...config.serversPath, SERVER_NAME], entry as Record<string, string | string[] | Record<string, string>>, name);
  return { file: config.file, before, after, changed: after !== before };
}

/** The card402 entry in a client's configuration file, or undefined (no file, no entry). */
export function installedEntry(config: ClientConfig): unknown {
  const text = readIfExists(config.file);
  if (text === undefined) return undefined;
  const name = path.basename(config.file);
  return config.format === 'json' ? readJsonServer(text, config.serversPath, SERVER_NAME, name) : readTomlTable(text, [...config.serversPath, SERVER_NAME], name);
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Writes a planned change: the old file copied to `<file>.card402-backup-<time>` first (same mode),
 * then the new text through a temp file and a rename, keeping the old file's mode (0600 for a new one).
 * Returns the backup's path, if one was made.
 */
export function applyChange(change: ConfigChange): string | undefined {
  if (!change.changed) return undefined;
  mkdirSync(path.dirname(change.file), { recursive: true });
  let mode = 0o600;
  let backup: string | undefined;
  if (change.before !== undefined) {
    mode = statSync(change.file).mode & 0o777;
    backup = `${change.file}.card402-backup-${timestamp()}`;
    copyFileSync(change.file, backup);
    chmodSync(backup, mode);
  }
  const temp = `${change.file}.${process.pid}.tmp`;
  writeFileSync(temp, change.after, { mode });
  chmodSync(temp, mode);
  renameSync(temp, change.file);
  return backup;
}

/** The change as lines removed and added (the common head and tail of the file left out). */
export function describeChange(change: ConfigChange): string {
  const a = change.before === undefined ? [] : change.before.split('\n');
  const b = change.after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const removed = a.slice(head, a.length - tail).map((line) => `- ${line}`);
  const added = b.slice(head, b.length - tail).map((line) => `+ ${line}`);
  const title = change.before === undefined ? `new file ${change.file}` : `${change.file} (from line ${head + 1})`;
  return [`--- ${title}`, ...removed, ...added].join('\n');
}
