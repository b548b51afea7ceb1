import http from 'node:http';
import https from 'node:https';
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

/** Upper bound for one JSON-RPC round trip. */
export const RPC_TIMEOUT_MS = 30_000;

const keepAliveAgents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/**
 * POST over node:http(s) with keep-alive: a fraction of the CPU of global fetch per call, which
 * matters because every settlement makes several RPC calls.
 */
function nodePost(url: URL, body: string): Promise<{ status: number; text: string }> {
  const secure = url.protocol === 'https:';
  const agent = secure ? keepAliveAgents['https:'] : keepAliveAgents['http:'];
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.setTimeout(RPC_TIMEOUT_MS, () => request.destroy(new RpcError('RPC request timed out')));
    request.end(body);
  });
}

export class SorobanRpc implements LedgerView {
  private readonly fetchFn: FetchLike | undefined;
  private readonly parsedUrl: URL;

  /** `fetch` replaces the built-in node:http transport (tests inject faults or an in-process ledger). */
  constructor(
    readonly url: string,
    opts: { fetch?: FetchLike } = {},
  ) {
    this.fetchFn = opts.fetch;
    this.parsedUrl = new URL(url);
    if (this.parsedUrl.protocol !== 'http:' && this.parsedUrl.protocol !== 'https:') throw new RpcError(`unsupported RPC URL ${url}`);
  }

  private async post(body: string): Promise<{ status: number; text: string }> {
    if (!this.fetchFn) return nodePost(this.parsedUrl, body);
    const response = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, text: await response.text() };
  }

  async call<T>(method: string, params?: unknown): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: nextRequestId++, method, ...(params === undefined ? {} : { params }) });
    const response = await this.post(body);
    if (response.status < 200 || response.status >= 300) throw new RpcError(`${method}: HTTP ${response.status}`);
    let json: { result?: T; error?: { code?: number; message?: string } };
    try {
      json = JSON.parse(response.text) as typeof json;
    } catch {
      throw new RpcError(`${method}: response is not JSON`);
    }
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

  /**
   * Whether the payer's auth-entry nonce has been spent on the ledger: the network stores a
   * temporary entry for every consumed nonce until the signature's expiration ledger. A spent
   * nonce of a payment we verified means its transfer — the only thing that auth allows — happened.
   */
  async nonceConsumed(address: string, nonce: bigint): Promise<boolean> {
    const key = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: xdr.ScAddress.scAddressTypeAccount(xdr.PublicKey.publicKeyTypeEd25519(StrKey.decodeEd25519PublicKey(address))),
        key: xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: xdr.Int64.fromString(nonce.toString()) })),
        durability: xdr.ContractDataDurability.temporary(),
      }),
    );
    const result = await this.call<{ entries?: Array<{ xdr: string }> | null }>('getLedgerEntries', { keys: [key.toXDR('base64')] });
    return (result.entries?.length ?? 0) > 0;
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
