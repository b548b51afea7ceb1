import { xdr } from '@stellar/stellar-sdk';
import { z } from 'zod';
import { HISTORY_RETENTION_LEDGERS, PROTOCOL_VERSION } from './constants.js';
import { buildEntry, refFromLedgerKey } from './entries.js';
import { EnvelopeError } from './envelope.js';
import { EventsQueryError, getEvents } from './events.js';
import type { Ledger } from './ledger.js';
import { baseReader } from './view.js';
import type { LocalnetNetwork } from './network.js';

export const JSONRPC = { PARSE_ERROR: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602, INTERNAL_ERROR: -32603 } as const;

type Id = string | number | null;
export interface RpcSuccess {
  jsonrpc: '2.0';
  id: Id;
  result: unknown;
}
export interface RpcFailure {
  jsonrpc: '2.0';
  id: Id;
  error: { code: number; message: string };
}
export type RpcResponse = RpcSuccess | RpcFailure;

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_LEDGER_ENTRY_KEYS = 200;

const noParams = z.union([z.null(), z.undefined(), z.object({}).strict(), z.array(z.never())]);
const base64 = z.string().min(1).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const xdrFormat = z.literal('base64').optional();
const schemas = {
  getHealth: noParams,
  getNetwork: noParams,
  getLatestLedger: noParams,
  getVersionInfo: noParams,
  getFeeStats: noParams,
  getLedgerEntries: z.object({ keys: z.array(base64).min(1).max(MAX_LEDGER_ENTRY_KEYS), xdrFormat }),
  simulateTransaction: z.object({
    transaction: base64,
    resourceConfig: z.object({ instructionLeeway: z.number().int().min(0).max(100_000_000).optional() }).optional(),
    authMode: z.enum(['enforce', 'record', 'record_allow_nonroot']).optional(),
    xdrFormat,
  }),
  sendTransaction: z.object({ transaction: base64, xdrFormat }),
  getTransaction: z.object({ hash: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a 64-character hex hash'), xdrFormat }),
  getEvents: z.object({
    startLedger: z.number().int().positive().optional(),
    endLedger: z.number().int().positive().optional(),
    filters: z
      .array(
        z.object({
          type: z.enum(['contract', 'system']).optional(),
          contractIds: z.array(z.string()).optional(),
          topics: z.array(z.array(z.string())).optional(),
        }),
      )
      .optional(),
    pagination: z.object({ cursor: z.string().optional(), limit: z.number().int().optional() }).optional(),
    xdrFormat,
  }),
};
type Method = keyof typeof schemas;

export interface RpcContext {
  ledger: Ledger;
  /** Where this server's friendbot answers, for getNetwork. */
  friendbotUrl: string;
}

/** Handles a parsed JSON-RPC body (a request or a batch); never throws. */
export function handleRpc(body: unknown, ctx: RpcContext): RpcResponse | RpcResponse[] {
  if (Array.isArray(body)) {
    if (body.length === 0) return failure(null, JSONRPC.INVALID_REQUEST, 'empty batch');
    return body.map((item) => handleOne(item, ctx));
  }
  return handleOne(body, ctx);
}

export function parseErrorResponse(): RpcFailure {
  return failure(null, JSONRPC.PARSE_ERROR, 'parse error: body is not valid JSON');
}

const envelopeSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number(), z.null()]).optional(),
  method: z.string(),
  params: z.unknown().optional(),
});

function handleOne(raw: unknown, ctx: RpcContext): RpcResponse {
  const req = envelopeSchema.safeParse(raw);
  const rawId = typeof raw === 'object' && raw !== null && 'id' in raw ? (raw as { id: unknown }).id : null;
  const id: Id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
  if (!req.success) return failure(id, JSONRPC.INVALID_REQUEST, 'invalid JSON-RPC 2.0 request');
  const { method, params } = req.data;
  if (!Object.hasOwn(schemas, method)) return failure(id, JSONRPC.METHOD_NOT_FOUND, `method not found: ${method}`);
  const parsed = schemas[method as Method].safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return failure(id, JSONRPC.INVALID_PARAMS, `invalid params: ${issue ? `${issue.path.join('.') || 'params'}: ${issue.message}` : 'malformed'}`);
  }
  try {
    return { jsonrpc: '2.0', id, result: dispatch(method as Method, parsed.data, ctx) };
  } catch (err) {
    if (err instanceof RpcError) return failure(id, err.code, err.message);
    if (err instanceof EnvelopeError) return failure(id, JSONRPC.INVALID_PARAMS, err.message);
    if (err instanceof EventsQueryError) return failure(id, err.code, err.message);
    return failure(id, JSONRPC.INTERNAL_ERROR, 'internal error');
  }
}

function failure(id: Id, code: number, message: string): RpcFailure {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function dispatch(method: Method, params: unknown, ctx: RpcContext): unknown {
  const { ledger } = ctx;
  const latest = ledger.latest;
  const oldest = ledger.state.oldest;
  switch (method) {
    case 'getHealth':
      return { status: 'healthy', latestLedger: latest.sequence, oldestLedger: oldest.sequence, ledgerRetentionWindow: HISTORY_RETENTION_LEDGERS };
    case 'getNetwork':
      return { friendbotUrl: ctx.friendbotUrl, passphrase: ledger.state.network.passphrase, protocolVersion: PROTOCOL_VERSION };
    case 'getLatestLedger':
      return { id: latest.hash, protocolVersion: PROTOCOL_VERSION, sequence: latest.sequence, closeTime: String(latest.closeTime) };
    case 'getVersionInfo':
      return { version: 'card402-localnet', commitHash: '', buildTimestamp: '', captiveCoreVersion: 'card402-localnet', protocolVersion: PROTOCOL_VERSION };
    case 'getFeeStats':
      return { sorobanInclusionFee: flatFeeStats(), inclusionFee: flatFeeStats(), latestLedger: latest.sequence };
    case 'getLedgerEntries': {
      const { keys } = params as z.infer<(typeof schemas)['getLedgerEntries']>;
      const reader = baseReader(ledger.state);
      const entries = [];
      for (const keyXdr of keys) {
        let key: xdr.LedgerKey;
        try {
          key = xdr.LedgerKey.fromXDR(keyXdr, 'base64');
        } catch {
          throw new RpcError(JSONRPC.INVALID_PARAMS, `invalid ledger key XDR: ${keyXdr.slice(0, 32)}`);
        }
        const ref = safeRef(key, ledger.state.network);
        const built = ref ? buildEntry(ref, reader) : undefined;
        if (!built) continue;
        entries.push({
          key: key.toXDR('base64'),
          xdr: built.entry.data().toXDR('base64'),
          lastModifiedLedgerSeq: built.entry.lastModifiedLedgerSeq(),
          ...(built.liveUntilLedgerSeq !== undefined ? { liveUntilLedgerSeq: built.liveUntilLedgerSeq } : {}),
        });
      }
      return { entries, latestLedger: latest.sequence };
    }
    case 'simulateTransaction': {
      const p = params as z.infer<(typeof schemas)['simulateTransaction']>;
      return ledger.simulate(p.transaction, p.authMode, p.resourceConfig?.instructionLeeway);
    }
    case 'sendTransaction': {
      const p = params as z.infer<(typeof schemas)['sendTransaction']>;
      const r = ledger.send(p.transaction);
      return {
        status: r.status,
        hash: r.hash,
        latestLedger: latest.sequence,
        latestLedgerCloseTime: String(latest.closeTime),
        ...(r.errorResult ? { errorResultXdr: r.errorResult, diagnosticEventsXdr: [] } : {}),
      };
    }
    case 'getEvents':
      return getEvents(ledger.state, params as z.infer<(typeof schemas)['getEvents']>);
    case 'getTransaction': {
      const { hash } = params as z.infer<(typeof schemas)['getTransaction']>;
      const base = {
        latestLedger: latest.sequence,
        latestLedgerCloseTime: String(latest.closeTime),
        oldestLedger: oldest.sequence,
        oldestLedgerCloseTime: String(oldest.closeTime),
      };
      const rec = ledger.getTransaction(hash);
      if (!rec) return { status: 'NOT_FOUND', ...base };
      return {
        status: rec.status,
        ...base,
        txHash: rec.hash,
        applicationOrder: rec.applicationOrder,
        feeBump: rec.feeBump,
        envelopeXdr: rec.envelopeXdr,
        resultXdr: rec.resultXdr,
        resultMetaXdr: rec.resultMetaXdr,
        ledger: rec.ledger,
        createdAt: String(rec.createdAt),
        diagnosticEventsXdr: rec.diagnosticEventsXdr,
        events: { contractEventsXdr: rec.contractEventsXdr, transactionEventsXdr: rec.transactionEventsXdr },
      };
    }
  }
}

/** Keys of kinds the local ledger does not model (or cannot decode) simply have no entry. */
function safeRef(key: xdr.LedgerKey, net: LocalnetNetwork) {
  try {
    return refFromLedgerKey(key, net);
  } catch {
    return undefined;
  }
}

/** No surge pricing on a local ledger: every percentile is the minimum inclusion fee. */
function flatFeeStats() {
  const v = '100';
  return { max: v, min: v, mode: v, p10: v, p20: v, p30: v, p40: v, p50: v, p60: v, p70: v, p80: v, p90: v, p95: v, p99: v, transactionCount: '0', ledgerCount: 50 };
}
