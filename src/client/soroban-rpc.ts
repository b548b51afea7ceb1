import { rpc, type FeeBumpTransaction, type Transaction } from '@stellar/stellar-sdk';

/**
 * The two Soroban JSON-RPC calls a payer makes (simulate a transfer for its auth entry, read the
 * latest ledger), over fetch. The SDK carries its own so it stands on src/protocol alone; the
 * server's client (src/stellar/rpc.ts) has the same two methods and can be passed instead.
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface PayerRpc {
  /** The sdk's parsed simulation. */
  simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse>;
  latestLedger(): Promise<number>;
}

/** Upper bound for one JSON-RPC round trip. */
export const PAYER_RPC_TIMEOUT_MS = 30_000;

export class PayerRpcError extends Error {
  override name = 'PayerRpcError';
}

let nextRequestId = 1;

export class SorobanPayerRpc implements PayerRpc {
  private readonly fetchFn: FetchLike;

  constructor(
    readonly url: string,
    opts: { fetch?: FetchLike; timeoutMs?: number } = {},
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new PayerRpcError(`unsupported RPC URL ${url}`);
    const timeoutMs = opts.timeoutMs ?? PAYER_RPC_TIMEOUT_MS;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }));
  }

  async call<T>(method: string, params?: unknown): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: nextRequestId++, method, ...(params === undefined ? {} : { params }) });
    const response = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await response.text();
    if (!response.ok) throw new PayerRpcError(`${method}: HTTP ${response.status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PayerRpcError(`${method}: response is not JSON`);
    }
    if (typeof json !== 'object' || json === null) throw new PayerRpcError(`${method}: malformed response`);
    const { result, error } = json as { result?: unknown; error?: { message?: unknown } };
    if (error !== undefined) throw new PayerRpcError(`${method}: ${typeof error?.message === 'string' ? error.message : 'RPC error'}`);
    if (result === undefined) throw new PayerRpcError(`${method}: response has no result`);
    return result as T;
  }

  async latestLedger(): Promise<number> {
    const result = await this.call<{ sequence?: unknown }>('getLatestLedger');
    if (!Number.isSafeInteger(result.sequence)) throw new PayerRpcError('getLatestLedger: malformed result');
    return result.sequence as number;
  }

  async simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse> {
    const transaction = typeof tx === 'string' ? tx : tx.toXDR();
    return rpc.parseRawSimulation(await this.call<rpc.Api.RawSimulateTransactionResponse>('simulateTransaction', { transaction }));
  }
}
