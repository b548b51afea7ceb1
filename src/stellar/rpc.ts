import { StrKey, xdr, rpc, type FeeBumpTransaction, type Transaction } from '@stellar/stellar-sdk';
import type { LedgerView, SimulationOutcome } from '../x402/verify.js';

/**
 * A small Soroban JSON-RPC client. It speaks plain JSON-RPC over an injectable fetch, so the same
 * code talks to a real RPC (https), the local ledger over http, or the local ledger in-process,
 * and so tests can put faults on the wire. Parsing of XDR results reuses stellar-sdk.
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export type SendStatus = 'PENDING' | 'DUPLICATE' | 'TRY_AGAIN_LATER' | 'ERROR';
export interface SendResult {
  status: SendStatus;
  hash: string;
  /** The ledger the RPC had closed when it answered. */
  latestLedger?: number;
  /** Present with ERROR: why the transaction was refused (e.g. txBAD_SEQ). */
  errorResultCode?: string;
}

export type TransactionLookup =
  | { status: 'SUCCESS'; ledger: number }
  | { status: 'FAILED'; ledger: number; resultCode?: string }
  | { status: 'NOT_FOUND'; latestLedger: number };

let nextRequestId = 1;

export class SorobanRpc implements LedgerView {
  private readonly fetchFn: FetchLike;

  constructor(
    readonly url: string,
    opts: { fetch?: FetchLike } = {},
  ) {
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  async call<T>(method: string, params?: unknown): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: nextRequestId++, method, ...(params === undefined ? {} : { params }) });
    const response = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!response.ok) throw new RpcError(`${method}: HTTP ${response.status}`);
    const json = (await response.json()) as { result?: T; error?: { code?: number; message?: string } };
    if (json.error) throw new RpcError(`${method}: ${json.error.message ?? 'error'}`, json.error.code);
    if (json.result === undefined) throw new RpcError(`${method}: empty result`);
    return json.result;
  }

  async latestLedger(): Promise<number> {
    const result = await this.call<{ sequence: number }>('getLatestLedger');
    return result.sequence;
  }

  /** The account's current sequence number, or undefined when the account does not exist. */
  async accountSequence(address: string): Promise<bigint | undefined> {
    const key = xdr.LedgerKey.account(
      new xdr.LedgerKeyAccount({ accountId: xdr.PublicKey.publicKeyTypeEd25519(StrKey.decodeEd25519PublicKey(address)) }),
    );
    const result = await this.call<{ entries?: Array<{ xdr: string }> | null }>('getLedgerEntries', { keys: [key.toXDR('base64')] });
    const entry = result.entries?.[0];
    if (!entry) return undefined;
    const data = xdr.LedgerEntryData.fromXDR(entry.xdr, 'base64');
    return BigInt(data.account().seqNum().toString());
  }

  /** The sdk's parsed simulation (used by the paying client for auth entries). */
  async simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse> {
    const transaction = typeof tx === 'string' ? tx : tx.toXDR();
    const raw = await this.call<rpc.Api.RawSimulateTransactionResponse>('simulateTransaction', { transaction });
    return rpc.parseRawSimulation(raw);
  }

  async simulate(tx: Transaction | string): Promise<SimulationOutcome> {
    const sim = await this.simulateRaw(tx);
    if (!rpc.Api.isSimulationSuccess(sim) || rpc.Api.isSimulationRestore(sim)) {
      return { ok: false, error: 'error' in sim && typeof sim.error === 'string' ? sim.error : 'simulation did not succeed' };
    }
    return {
      ok: true,
      events: sim.events,
      minResourceFee: BigInt(sim.minResourceFee),
      transactionData: sim.transactionData.build(),
      latestLedger: sim.latestLedger,
    };
  }

  /** Sends a transaction (or its base64 envelope). */
  async send(tx: Transaction | FeeBumpTransaction | string): Promise<SendResult> {
    const raw = await this.call<{ status: SendStatus; hash: string; errorResultXdr?: string; latestLedger?: number }>('sendTransaction', {
      transaction: typeof tx === 'string' ? tx : tx.toXDR(),
    });
    const out: SendResult = { status: raw.status, hash: raw.hash };
    if (typeof raw.latestLedger === 'number') out.latestLedger = raw.latestLedger;
    if (raw.errorResultXdr) {
      try {
        out.errorResultCode = xdr.TransactionResult.fromXDR(raw.errorResultXdr, 'base64').result().switch().name;
      } catch {
        out.errorResultCode = 'unparseable';
      }
    }
    return out;
  }

  async transaction(hash: string): Promise<TransactionLookup> {
    const raw = await this.call<{ status: string; ledger?: number; latestLedger: number; resultXdr?: string }>('getTransaction', { hash });
    if (raw.status === 'SUCCESS') return { status: 'SUCCESS', ledger: raw.ledger ?? 0 };
    if (raw.status === 'FAILED') {
      let resultCode: string | undefined;
      try {
        if (raw.resultXdr) resultCode = xdr.TransactionResult.fromXDR(raw.resultXdr, 'base64').result().switch().name;
      } catch {
        resultCode = undefined;
      }
      return resultCode === undefined ? { status: 'FAILED', ledger: raw.ledger ?? 0 } : { status: 'FAILED', ledger: raw.ledger ?? 0, resultCode };
    }
    return { status: 'NOT_FOUND', latestLedger: raw.latestLedger };
  }
}
