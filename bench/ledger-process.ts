import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** A certificate and key (PEM files) for 127.0.0.1 and localhost, made for one bench run. */
export interface BenchTls {
  certPath: string;
  keyPath: string;
}

/**
 * A self-signed certificate in `dir` for the local ledger's HTTPS side. Only processes the bench
 * starts with NODE_EXTRA_CA_CERTS=certPath trust it: nothing turns certificate checking off.
 */
export function selfSignedCert(dir: string): BenchTls {
  const certPath = path.join(dir, 'ledger-cert.pem');
  const keyPath = path.join(dir, 'ledger-key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath };
}

export interface LedgerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:port (friendbot and the JSON-RPC over plain HTTP). */
  url: string;
  /** https://127.0.0.1:port, when started with a certificate. */
  httpsUrl?: string;
}

/**
 * The local ledger (npm run localnet) in a child process, so its CPU is not the bench's. The OS
 * picks its ports; they are read from what it prints.
 */
export async function startLedger(ledgerMs: number, tls?: BenchTls): Promise<LedgerProcess> {
  // BENCH_LEDGER_CPU_PROF=dir: a V8 CPU profile of the ledger process, written when it exits.
  const profile = process.env['BENCH_LEDGER_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_LEDGER_CPU_PROF']}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/localnet/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      LOCALNET_PORT: '0',
      LOCALNET_LEDGER_MS: String(ledgerMs),
      ...(tls ? { LOCALNET_TLS_CERT: tls.certPath, LOCALNET_TLS_KEY: tls.keyPath, LOCALNET_TLS_PORT: '0' } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const printed = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      // The last line of its start-up banner.
      if (out.includes('localnet: ledgers close')) {
        child.stdout!.off('data', onData);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', () => reject(new Error(`localnet exited:\n${out}`)));
  });
  child.stdout!.resume();
  const rpc = (label: string) => new RegExp(`^localnet: ${label}\\s+(\\S+)/soroban/rpc$`, 'm').exec(printed)?.[1];
  const url = rpc('RPC');
  if (!url) throw new Error(`localnet printed no RPC URL:\n${printed}`);
  const httpsUrl = rpc('RPC \\(TLS\\)');
  if (tls && !httpsUrl) throw new Error(`localnet printed no HTTPS RPC URL:\n${printed}`);
  return { child, url, ...(httpsUrl ? { httpsUrl } : {}) };
}
