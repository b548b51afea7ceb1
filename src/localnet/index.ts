import { createLocalnetApp } from './app.js';
import { DEFAULT_LEDGER_MS } from './constants.js';
import { Ledger } from './ledger.js';
import { TESTNET, type LocalnetNetwork } from './network.js';

export { LOCALNET_NETWORK, LOCALNET_PASSPHRASE, LOCALNET_USDC_ISSUER, LOCALNET_USDC_CONTRACT } from './constants.js';
export { serveLocalnet, type LocalnetServer } from './serve.js';
export { localnetNetwork, type LocalnetNetwork } from './network.js';

export interface LocalnetOptions {
  network?: LocalnetNetwork; // the network the ledger poses as (default testnet); fixed for its lifetime
  ledgerMs?: number | 'manual'; // 'manual' = tests close ledgers themselves
  statePath?: string; // persist state here (optional)
  startedAtMs?: () => number; // injectable clock, milliseconds (optional)
  log?: (event: string, fields?: Record<string, unknown>) => void; // optional structured log sink
  historySeconds?: number; // how long getTransaction remembers a transaction (default 7 days)
}

export interface Localnet {
  readonly network: LocalnetNetwork;
  fetch(request: Request): Promise<Response>; // the hono app: POST /soroban/rpc, GET /friendbot
  closeLedger(): Promise<{ sequence: number; applied: number }>; // apply queued txs, advance one ledger
  latestLedger(): number;
  fundXlm(address: string, stroops?: bigint): void; // what friendbot does, from code
  mintUsdc(address: string, atomic: bigint): void;
  usdcBalance(address: string): bigint; // atomic units (7 decimals)
  xlmBalance(address: string): bigint; // stroops
  faults: {
    failNextSend(status: 'TRY_AGAIN_LATER' | 'ERROR', count?: number): void; // next N sendTransaction calls answer this without queueing
  };
  start(): void; // start the ledger clock (no-op when manual)
  stop(): Promise<void>; // stop the clock, flush state
}

export function createLocalnet(opts: LocalnetOptions = {}): Localnet {
  const log = opts.log ?? (() => {});
  const network = opts.network ?? TESTNET;
  const ledger = new Ledger({
    network,
    now: opts.startedAtMs ?? Date.now,
    log,
    ...(opts.statePath ? { statePath: opts.statePath } : {}),
    ...(opts.historySeconds !== undefined ? { historySeconds: opts.historySeconds } : {}),
  });
  const app = createLocalnetApp(ledger, log);
  const ledgerMs = opts.ledgerMs ?? DEFAULT_LEDGER_MS;
  if (ledgerMs !== 'manual' && (!Number.isInteger(ledgerMs) || ledgerMs <= 0)) throw new RangeError(`ledgerMs must be a positive integer or 'manual', got ${ledgerMs}`);
  let timer: NodeJS.Timeout | undefined;

  const close = () => {
    const r = ledger.closeLedger();
    log('localnet_ledger_closed', r);
    return r;
  };

  return {
    network,
    fetch: async (request) => app.fetch(request),
    closeLedger: async () => close(),
    latestLedger: () => ledger.latest.sequence,
    fundXlm: (address, stroops) => void ledger.fundXlm(address, stroops),
    mintUsdc: (address, atomic) => ledger.mintUsdc(address, atomic),
    usdcBalance: (address) => ledger.state.usdc.get(address)?.balance ?? 0n,
    xlmBalance: (address) => ledger.state.accounts.get(address)?.balance ?? 0n,
    faults: { failNextSend: (status, count) => ledger.failNextSend(status, count) },
    start() {
      if (ledgerMs === 'manual' || timer) return;
      timer = setInterval(() => {
        try {
          close();
        } catch (err) {
          log('localnet_close_failed', { error: err instanceof Error ? err.message : String(err) });
        }
      }, ledgerMs);
      // An embedded ledger must not keep a finished process alive; a served one is kept alive by its socket.
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      ledger.persist();
    },
  };
}
