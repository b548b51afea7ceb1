import { StrKey, xdr, rpc, type FeeBumpTransaction, type Transaction } from '@stellar/stellar-sdk';
import { Agent, Client, type Dispatcher } from 'undici';
import type { LedgerView, SimulationOutcome } from './ledger-view.js';
import type { EncodedSorobanData } from './envelope.js';

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
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type SendStatus = 'PENDING' | 'DUPLICATE' | 'TRY_AGAIN_LATER' | 'ERROR';
const SEND_STATUSES: ReadonlySet<SendStatus> = new Set(['PENDING', 'DUPLICATE', 'TRY_AGAIN_LATER', 'ERROR']);
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

export interface EventsQuery {
  startLedger?: number;
  /** Exclusive. */
  endLedger?: number;
  cursor?: string;
  limit?: number;
  filters: Array<{ type?: 'contract'; contractIds?: string[]; topics?: string[][] }>;
}

export interface LedgerEvent {
  id: string;
  ledger: number;
  txHash: string;
  contractId: string;
  inSuccessfulContractCall: boolean;
  topic: xdr.ScVal[];
  value: xdr.ScVal;
}

export interface EventsPage {
  events: LedgerEvent[];
  cursor: string;
  latestLedger: number;
  /** The oldest ledger the RPC still keeps events for (absent on servers that do not say). */
  oldestLedger?: number;
}

export type TransactionDetail =
  | { status: 'SUCCESS' | 'FAILED'; ledger: number; resultCode?: string; envelopeXdr: string; contractEvents: xdr.ContractEvent[] }
  | { status: 'NOT_FOUND'; latestLedger: number; oldestLedger?: number };

/** Contract events of a TransactionMeta (v3: the Soroban meta's list; v4: each operation's list). */
function contractEventsOfMeta(meta: xdr.TransactionMeta): xdr.ContractEvent[] {
  switch (meta.switch()) {
    case 3:
      return meta.v3().sorobanMeta()?.events() ?? [];
    case 4:
      return meta.v4().operations().flatMap((op) => op.events());
    default:
      return [];
  }
}

/** The fields of a simulateTransaction result that verification reads (JSON as the RPC sends it). */
interface RawSimulation {
  latestLedger?: unknown;
  error?: unknown;
  transactionData?: unknown;
  minResourceFee?: unknown;
  events?: unknown;
  restorePreamble?: { transactionData?: unknown } | null;
}

let nextRequestId = 1;

/** Most getTransaction requests in one JSON-RPC batch; bigger sets are split into several. */
export const MAX_BATCH_SIZE = 100;

/** Keys per getLedgerEntries call (soroban-rpc refuses more than 200). */
export const MAX_LEDGER_KEYS = 200;
/**
 * How long single calls replace batches after a server refused one. Not for ever: the URL may lead
 * to a provider or load balancer whose nodes change (an upgrade, another backend), and one refused
 * batch every few minutes costs nothing next to a call per transaction for the life of the process.
 */
export const BATCH_REPROBE_MS = 5 * 60_000;

/**
 * How long one JSON-RPC call may go without progress: connecting, then the answer's head after the
 * request, then each piece of its body. An answer that keeps arriving may take longer in all.
 */
export const RPC_TIMEOUT_MS = 30_000;

/** Most bytes of one RPC answer (a getTransaction with its meta is a few KB; a batch of 100, ~1 MB). */
export const MAX_RPC_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The one RPC transport, for http: and https: URLs alike: undici, with kept-alive connections pooled
 * per origin and shared by every SorobanRpc of the process. Idle connections close after undici's
 * keep-alive timeout (4 s, or the server's Keep-Alive hint less 1 s), so we close before a server's
 * own idle close would race our reuse, and they never keep the process alive.
 * Why undici and not node:https with a keep-alive agent: over HTTPS it spends 130-190 instead of
 * 170-255 µs of client CPU per call (bench/rpc-transport), and every paid card makes about four
 * calls: 3.33 instead of 3.77 ms of server CPU per paid card in bench/paid (BENCHMARKS.md).
 */
const rpcAgent = new Agent({ connections: 256, maxResponseSize: MAX_RPC_RESPONSE_BYTES });

/** Where one SorobanRpc posts: the URL split once, as undici wants it. */
interface RpcTarget {
  origin: string;
  path: string;
  /** Credentials in the URL become Basic auth, as node:http and fetch do with them. */
  headers: Record<string, string>;
}

function rpcTarget(url: URL): RpcTarget {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (url.username || url.password) {
    headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }
  return { origin: url.origin, path: `${url.pathname}${url.search}`, headers };
}

/** Failures of the connection itself: what a kept-alive socket the server closed while idle gives. */
const STALE_CODES: ReadonlySet<unknown> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** No byte moved for the timeout: connecting, waiting for the answer's head, or between body chunks. */
const TIMEOUT_CODES: ReadonlySet<unknown> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const errorCode = (err: unknown): unknown => (typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined);

/**
 * The transport's failures as callers know them: a stall, or an answer the transport refuses
 * (unframeable, too large, cut short), is the RPC's fault: an RpcError like the rest. Failing to
 * reach the RPC at all (refused, unknown host, TLS) stays the socket's own error.
 */
function transportError(err: unknown, answerBegan: boolean): unknown {
  const code = errorCode(err);
  if (TIMEOUT_CODES.has(code)) return new RpcError('RPC request timed out', undefined, { cause: err });
  if (answerBegan || (typeof code === 'string' && (code.startsWith('HPE_') || code.startsWith('UND_ERR_RES_')))) {
    return new RpcError(`RPC response refused: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
  }
  return err;
}

/**
 * POSTs `body`; rejects when no byte moves for `timeoutMs`. A connection reset or closed before the
 * answer began (a kept-alive socket the server dropped while idle, as its idle timeout races our
 * reuse) is tried once more on a fresh connection: every call we make is safe to repeat (reads, and
 * sendTransaction of the same envelope is DUPLICATE).
 */
async function postJson(target: RpcTarget, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const request: Dispatcher.RequestOptions = { origin: target.origin, path: target.path, method: 'POST', headers: target.headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
  let fresh: Client | undefined;
  try {
    let response: Dispatcher.ResponseData;
    try {
      response = await rpcAgent.request(request);
    } catch (err) {
      if (!STALE_CODES.has(errorCode(err))) throw transportError(err, false);
      fresh = new Client(target.origin, { maxResponseSize: MAX_RPC_RESPONSE_BYTES });
      response = await fresh.request(request).catch((retryErr: unknown) => {
        throw transportError(retryErr, false);
      });
    }
    const text = await response.body.text().catch((err: unknown) => {
      throw transportError(err, true);
    });
    return { status: response.statusCode, text };
  } finally {
    // Its one request is done, or failed: the connection goes (a stale pooled one is undici's to drop).
    if (fresh) fresh.destroy().catch(() => undefined);
  }
}

/** Decoded once, to refuse bytes that are not SorobanTransactionData and to read the fee; kept as sent. */
function encodedSorobanData(base64: string): EncodedSorobanData {
  const bytes = Buffer.from(base64, 'base64');
  const decoded = xdr.SorobanTransactionData.fromXDR(bytes);
  return { xdr: bytes, resourceFee: decoded.resourceFee().toBigInt() };
}

export class SorobanRpc implements LedgerView {
  /** Exactly one transport: the injected fetch, or the built-in one. */
  private readonly fetchFn: FetchLike | undefined;
  private readonly target: RpcTarget | undefined;
  private readonly timeoutMs: number;
  /** Until when (epoch ms) transactions() uses single calls because the server refused a batch. */
  private batchesRefusedUntil = 0;

  /**
   * `fetch` replaces the built-in transports (tests inject faults or an in-process ledger);
   * `timeoutMs` bounds a built-in round trip with no progress (default RPC_TIMEOUT_MS).
   */
  constructor(
    readonly url: string,
    opts: { fetch?: FetchLike; timeoutMs?: number } = {},
  ) {
    this.fetchFn = opts.fetch;
    this.timeoutMs = opts.timeoutMs ?? RPC_TIMEOUT_MS;
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RpcError(`unsupported RPC URL ${url}`);
    if (!this.fetchFn) this.target = rpcTarget(parsed);
  }

  private async post(body: string): Promise<{ status: number; text: string }> {
    if (this.fetchFn) {
      const response = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: response.status, text: await response.text() };
    }
    return postJson(this.target!, body, this.timeoutMs);
  }

  async call<T>(method: string, params?: unknown): Promise<T> {
    const response = await this.post(JSON.stringify(request(nextRequestId++, method, params)));
    if (response.status < 200 || response.status >= 300) throw new RpcError(`${method}: HTTP ${response.status}`);
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      throw new RpcError(`${method}: response is not JSON`);
    }
    return resultOf<T>(method, json);
  }

  async latestLedger(): Promise<number> {
    const result = await this.call<{ sequence?: unknown }>('getLatestLedger');
    if (!Number.isSafeInteger(result.sequence)) throw new RpcError('getLatestLedger: malformed result');
    return result.sequence as number;
  }

  /** The ledgers the RPC keeps history for (transactions and events): [oldestLedger, latestLedger]. */
  async history(): Promise<{ oldestLedger: number; latestLedger: number }> {
    const result = await this.call<{ oldestLedger?: unknown; latestLedger?: unknown }>('getHealth');
    if (!Number.isSafeInteger(result.oldestLedger) || !Number.isSafeInteger(result.latestLedger)) throw new RpcError('getHealth: malformed result');
    return { oldestLedger: result.oldestLedger as number, latestLedger: result.latestLedger as number };
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
   * Sequence number and XLM balance (stroops) of many accounts, MAX_LEDGER_KEYS per
   * getLedgerEntries call; an account that does not exist is absent from the map.
   */
  async accounts(addresses: readonly string[]): Promise<Map<string, { sequence: bigint; balance: bigint }>> {
    const out = new Map<string, { sequence: bigint; balance: bigint }>();
    for (let i = 0; i < addresses.length; i += MAX_LEDGER_KEYS) {
      const keys = addresses.slice(i, i + MAX_LEDGER_KEYS).map((address) =>
        xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: xdr.PublicKey.publicKeyTypeEd25519(StrKey.decodeEd25519PublicKey(address)) })).toXDR('base64'),
      );
      const result = await this.call<{ entries?: Array<{ xdr: string }> | null }>('getLedgerEntries', { keys });
      for (const entry of result.entries ?? []) {
        const account = xdr.LedgerEntryData.fromXDR(entry.xdr, 'base64').account();
        out.set(StrKey.encodeEd25519PublicKey(account.accountId().ed25519()), {
          sequence: BigInt(account.seqNum().toString()),
          balance: BigInt(account.balance().toString()),
        });
      }
    }
    return out;
  }

  /**
   * Whether an auth-entry nonce of `address` has been spent on the ledger (the network keeps a
   * temporary entry for every consumed nonce until the signature's expiration ledger), and the
   * ledger the RPC had reached when it answered. A spent nonce proves nothing about a payment:
   * nonces belong to the address, which can spend one on any invocation of its own
   * (docs/ARCHITECTURE.md, "What proves a payment"). Only a transfer does.
   */
  async nonceState(address: string, nonce: bigint): Promise<{ spent: boolean; latestLedger: number }> {
    const key = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: xdr.ScAddress.scAddressTypeAccount(xdr.PublicKey.publicKeyTypeEd25519(StrKey.decodeEd25519PublicKey(address))),
        key: xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: xdr.Int64.fromString(nonce.toString()) })),
        durability: xdr.ContractDataDurability.temporary(),
      }),
    );
    const result = await this.call<{ entries?: Array<{ xdr: string }> | null; latestLedger?: unknown }>('getLedgerEntries', { keys: [key.toXDR('base64')] });
    if (!Number.isSafeInteger(result.latestLedger)) throw new RpcError('getLedgerEntries: malformed result');
    return { spent: (result.entries?.length ?? 0) > 0, latestLedger: result.latestLedger as number };
  }

  /** The sdk's parsed simulation (used by the paying client for auth entries). */
  async simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse> {
    const transaction = typeof tx === 'string' ? tx : tx.toXDR();
    const raw = await this.call<rpc.Api.RawSimulateTransactionResponse>('simulateTransaction', { transaction });
    return rpc.parseRawSimulation(raw);
  }

  /**
   * Simulation for verification, parsed straight from the JSON-RPC answer: only the fields checks and
   * settlement use (events, fee, resources, ledger), each XDR decoded once. The sdk's parser also
   * decodes the results and state changes, and its SorobanDataBuilder decodes the resources and then
   * copies them by another encode/decode round trip: together ~4 % of the server's CPU per paid card.
   * A malformed answer is an RpcError (the network's fault, never the payer's).
   */
  async simulate(tx: Transaction | string): Promise<SimulationOutcome> {
    const transaction = typeof tx === 'string' ? tx : tx.toXDR();
    const raw = await this.call<RawSimulation>('simulateTransaction', { transaction });
    if (typeof raw.error === 'string') return { ok: false, error: raw.error };
    // The sdk's rule: a preamble with resources means archived state must be restored first.
    if (raw.restorePreamble && raw.restorePreamble.transactionData !== '') return { ok: false, error: 'simulation needs a state restore' };
    if (typeof raw.latestLedger !== 'number' || typeof raw.transactionData !== 'string' || typeof raw.minResourceFee !== 'string' || !/^\d{1,19}$/.test(raw.minResourceFee)) {
      throw new RpcError('simulateTransaction: malformed result');
    }
    if (raw.events !== undefined && raw.events !== null && !(Array.isArray(raw.events) && raw.events.every((e) => typeof e === 'string'))) {
      throw new RpcError('simulateTransaction: malformed events');
    }
    try {
      return {
        ok: true,
        events: (raw.events ?? []).map((event) => xdr.DiagnosticEvent.fromXDR(event, 'base64')),
        minResourceFee: BigInt(raw.minResourceFee),
        transactionData: encodedSorobanData(raw.transactionData),
        latestLedger: raw.latestLedger,
      };
    } catch {
      throw new RpcError('simulateTransaction: result XDR does not decode');
    }
  }

  /** Sends a transaction (or its base64 envelope). */
  async send(tx: Transaction | FeeBumpTransaction | string): Promise<SendResult> {
    const raw = await this.call<{ status?: unknown; hash?: unknown; errorResultXdr?: unknown; latestLedger?: unknown }>('sendTransaction', {
      transaction: typeof tx === 'string' ? tx : tx.toXDR(),
    });
    // An answer we cannot read says nothing about whether the transaction was taken: an error, so
    // the caller resends the identical envelope (DUPLICATE if it was) instead of assuming either way.
    if (!SEND_STATUSES.has(raw.status as SendStatus) || typeof raw.hash !== 'string') throw new RpcError('sendTransaction: malformed result');
    const out: SendResult = { status: raw.status as SendStatus, hash: raw.hash };
    if (typeof raw.latestLedger === 'number') out.latestLedger = raw.latestLedger;
    if (typeof raw.errorResultXdr === 'string' && raw.errorResultXdr !== '') {
      try {
        out.errorResultCode = xdr.TransactionResult.fromXDR(raw.errorResultXdr, 'base64').result().switch().name;
      } catch {
        out.errorResultCode = 'unparseable';
      }
    }
    return out;
  }

  async transaction(hash: string): Promise<TransactionLookup> {
    return transactionOf(hash, await this.call<RawTransaction>('getTransaction', { hash }));
  }

  /**
   * Looks up many transactions with one JSON-RPC batch of getTransaction requests (split above
   * MAX_BATCH_SIZE): one round trip instead of one per transaction. Every hash gets its lookup or
   * the error that lookup met (a missing or malformed answer, an item's JSON-RPC error, an
   * unreachable RPC), so one bad answer fails only its own hash. Never rejects.
   *
   * A server that refuses batches (an HTTP error status, or a JSON answer that is not an array, such
   * as one Invalid Request error) is asked with single calls instead, for BATCH_REPROBE_MS.
   */
  async transactions(hashes: readonly string[]): Promise<Map<string, TransactionLookup | Error>> {
    const unique = [...new Set(hashes)];
    const out = new Map<string, TransactionLookup | Error>();
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += MAX_BATCH_SIZE) chunks.push(unique.slice(i, i + MAX_BATCH_SIZE));
    await Promise.all(chunks.map((chunk) => this.transactionBatch(chunk, out)));
    return out;
  }

  private async transactionBatch(hashes: string[], out: Map<string, TransactionLookup | Error>): Promise<void> {
    // A batch of one saves nothing, and a server known to refuse batches would only refuse again.
    if (hashes.length === 1 || Date.now() < this.batchesRefusedUntil) return this.singleTransactions(hashes, out);
    const hashById = new Map<number, string>();
    const body = hashes.map((hash) => {
      const id = nextRequestId++;
      hashById.set(id, hash);
      return request(id, 'getTransaction', { hash });
    });
    let response: { status: number; text: string };
    try {
      response = await this.post(JSON.stringify(body));
    } catch (err) {
      // Unreachable: nothing learned about any of them; each caller retries as after a failed single call.
      const failure = asError(err);
      for (const hash of hashes) out.set(hash, failure);
      return;
    }
    let answers: unknown;
    if (response.status >= 200 && response.status < 300) {
      try {
        answers = JSON.parse(response.text);
      } catch {
        // Garbage, not a refusal (a server without batches answers a JSON-RPC error): retried later.
        const failure = new RpcError('getTransaction batch: response is not JSON');
        for (const hash of hashes) out.set(hash, failure);
        return;
      }
    }
    if (!Array.isArray(answers)) {
      this.batchesRefusedUntil = Date.now() + BATCH_REPROBE_MS;
      return this.singleTransactions(hashes, out);
    }
    const answered = new Set<string>();
    for (const answer of answers) {
      const id = typeof answer === 'object' && answer !== null ? (answer as { id?: unknown }).id : undefined;
      const hash = typeof id === 'number' ? hashById.get(id) : undefined;
      if (hash === undefined) continue; // an id we did not send: it answers nothing we asked
      if (answered.has(hash)) {
        // Two answers to one request: believe neither.
        out.set(hash, new RpcError('getTransaction: answered twice in a batch'));
        continue;
      }
      answered.add(hash);
      try {
        out.set(hash, transactionOf(hash, resultOf<RawTransaction>('getTransaction', answer)));
      } catch (err) {
        out.set(hash, asError(err));
      }
    }
    for (const hash of hashes) if (!answered.has(hash)) out.set(hash, new RpcError('getTransaction: no answer in the batch'));
  }

  /**
   * One page of soroban-rpc's getEvents: contract events of successful transactions in
   * [startLedger, endLedger) (or after `cursor`) that match any of `filters`. Topic segments are
   * base64 ScVals, `*` (one segment) or a final `**` (any number). The RPC refuses a startLedger
   * older than the history it keeps; the answer's oldestLedger says where that history begins.
   */
  async events(query: EventsQuery): Promise<EventsPage> {
    const params: Record<string, unknown> = { filters: query.filters, pagination: { limit: query.limit ?? 100, ...(query.cursor ? { cursor: query.cursor } : {}) } };
    if (!query.cursor) {
      params.startLedger = query.startLedger;
      if (query.endLedger !== undefined) params.endLedger = query.endLedger;
    }
    const raw = await this.call<{ events?: unknown; cursor?: unknown; latestLedger?: unknown; oldestLedger?: unknown }>('getEvents', params);
    if (!Array.isArray(raw.events) || !Number.isSafeInteger(raw.latestLedger) || typeof raw.cursor !== 'string') throw new RpcError('getEvents: malformed result');
    const events: LedgerEvent[] = raw.events.map((item: unknown) => {
      const e = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      if (
        typeof e.txHash !== 'string' ||
        typeof e.contractId !== 'string' ||
        typeof e.id !== 'string' ||
        !Number.isSafeInteger(e.ledger) ||
        !Array.isArray(e.topic) ||
        typeof e.value !== 'string'
      ) {
        throw new RpcError('getEvents: malformed event');
      }
      try {
        return {
          id: e.id,
          ledger: e.ledger as number,
          txHash: e.txHash,
          contractId: e.contractId,
          inSuccessfulContractCall: e.inSuccessfulContractCall !== false,
          topic: (e.topic as unknown[]).map((t) => xdr.ScVal.fromXDR(String(t), 'base64')),
          value: xdr.ScVal.fromXDR(e.value, 'base64'),
        };
      } catch {
        throw new RpcError('getEvents: event XDR does not decode');
      }
    });
    return {
      events,
      cursor: raw.cursor,
      latestLedger: raw.latestLedger as number,
      ...(Number.isSafeInteger(raw.oldestLedger) ? { oldestLedger: raw.oldestLedger as number } : {}),
    };
  }

  /**
   * A transaction with what proves what it did: its envelope and the contract events it emitted
   * (from `events.contractEventsXdr`, or read out of `resultMetaXdr` on servers that send only that).
   */
  async transactionDetail(hash: string): Promise<TransactionDetail> {
    const raw = await this.call<RawTransaction & { envelopeXdr?: unknown; resultMetaXdr?: unknown; oldestLedger?: unknown; events?: { contractEventsXdr?: unknown } }>(
      'getTransaction',
      { hash },
    );
    const lookup = transactionOf(hash, raw);
    const oldestLedger = Number.isSafeInteger(raw.oldestLedger) ? (raw.oldestLedger as number) : undefined;
    if (lookup.status === 'NOT_FOUND') return { ...lookup, ...(oldestLedger !== undefined ? { oldestLedger } : {}) };
    if (typeof raw.envelopeXdr !== 'string') throw new RpcError('getTransaction: no envelopeXdr');
    let contractEvents: xdr.ContractEvent[];
    try {
      const listed = raw.events?.contractEventsXdr;
      if (Array.isArray(listed)) {
        contractEvents = (listed as unknown[]).flat().map((e) => xdr.ContractEvent.fromXDR(String(e), 'base64'));
      } else if (typeof raw.resultMetaXdr === 'string') {
        contractEvents = contractEventsOfMeta(xdr.TransactionMeta.fromXDR(raw.resultMetaXdr, 'base64'));
      } else {
        contractEvents = [];
      }
    } catch {
      throw new RpcError('getTransaction: events do not decode');
    }
    return { ...lookup, envelopeXdr: raw.envelopeXdr, contractEvents };
  }

  private async singleTransactions(hashes: string[], out: Map<string, TransactionLookup | Error>): Promise<void> {
    await Promise.all(
      hashes.map(async (hash) => {
        out.set(hash, await this.transaction(hash).catch(asError));
      }),
    );
  }
}

/** The fields of a getTransaction result that settlement reads (JSON as the RPC sends it). */
interface RawTransaction {
  status?: unknown;
  txHash?: unknown;
  ledger?: number;
  latestLedger?: unknown;
  resultXdr?: string;
}

function request(id: number, method: string, params: unknown): object {
  return { jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) };
}

/** The result of one JSON-RPC response object, or the RpcError it carries instead. */
function resultOf<T>(method: string, json: unknown): T {
  if (typeof json !== 'object' || json === null) throw new RpcError(`${method}: response is not a JSON-RPC object`);
  const { result, error } = json as { result?: unknown; error?: unknown };
  if (error !== undefined && error !== null) {
    const { code, message } = (typeof error === 'object' ? error : {}) as { code?: unknown; message?: unknown };
    throw new RpcError(`${method}: ${typeof message === 'string' ? message : 'error'}`, typeof code === 'number' ? code : undefined);
  }
  if (result === undefined || result === null) throw new RpcError(`${method}: empty result`);
  return result as T;
}

/** Reads a getTransaction result for `hash`; an answer about another transaction is an error, never its outcome. */
function transactionOf(hash: string, raw: RawTransaction): TransactionLookup {
  if (typeof raw.txHash === 'string' && raw.txHash.toLowerCase() !== hash.toLowerCase()) throw new RpcError('getTransaction: answer is about another transaction');
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
  if (raw.status !== 'NOT_FOUND' || !Number.isSafeInteger(raw.latestLedger)) throw new RpcError('getTransaction: malformed result');
  return { status: 'NOT_FOUND', latestLedger: raw.latestLedger as number };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new RpcError(String(err));
}
