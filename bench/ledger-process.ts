import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** The local ledger (npm run localnet) in a child process, so its CPU is not the bench's. */
export async function startLedger(ledgerMs: number, port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/localnet/main.ts'], {
    cwd: root,
    env: { ...process.env, LOCALNET_PORT: String(port), LOCALNET_LEDGER_MS: String(ledgerMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('friendbot')) resolve();
    });
    child.once('exit', () => reject(new Error('localnet exited')));
  });
  child.stdout!.resume();
  return { child, url: `http://127.0.0.1:${port}` };
}
