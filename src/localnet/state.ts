import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { NETWORKS } from '../protocol/networks.js';
import { TESTNET, type LocalnetNetwork } from './network.js';

/** A classic account. Only the master key signs (weight 1, thresholds 0), as for every friendbot account. */
export interface AccountState {
  balance: bigint; // stroops
  seqNum: bigint;
  /** Ledger and close time of the last sequence bump, kept for minSeqAge / minSeqLedgerGap preconditions. */
  seqLedger: number;
  seqTime: bigint;
  lastModified: number;
}

/** USDC held by a G address (a trustline) or a C address (a SAC `Balance` contract data entry). */
export interface UsdcHolding {
  balance: bigint; // atomic units, 7 decimals
  lastModified: number;
}

/**
 * A SEP-41 allowance (the SAC's temporary `Allowance{from, spender}` entry): `amount` usable up to and including
 * ledger `liveUntil`; `ttl` is the entry's own live-until ledger (a temporary entry past it is gone).
 */
export interface Allowance {
  amount: bigint; // atomic units
  liveUntil: number;
  ttl: number;
  lastModified: number;
}

export interface TxRecord {
  hash: string;
  status: 'SUCCESS' | 'FAILED';
  ledger: number;
  createdAt: number; // unix seconds of the ledger close
  applicationOrder: number;
  feeBump: boolean;
  envelopeXdr: string;
  resultXdr: string;
  resultMetaXdr: string;
  diagnosticEventsXdr: string[];
  contractEventsXdr: string[][];
  transactionEventsXdr: string[];
}

export interface LedgerHeader {
  sequence: number;
  closeTime: number; // unix seconds
  hash: string; // hex
}

export interface LedgerState {
  accounts: Map<string, AccountState>;
  usdc: Map<string, UsdcHolding>;
  /** `${address}:${nonce}` → signatureExpirationLedger. A nonce entry outlives its signature, so it blocks replay. */
  nonces: Map<string, number>;
  /** `${from}:${spender}` → the allowance `from` approved for `spender`. */
  allowances: Map<string, Allowance>;
  txs: Map<string, TxRecord>;
  latest: LedgerHeader;
  oldest: LedgerHeader;
  /** The network this ledger poses as; fixed for its lifetime. */
  network: LocalnetNetwork;
}

export function nonceKey(address: string, nonce: bigint): string {
  return `${address}:${nonce.toString()}`;
}

export function allowanceKey(from: string, spender: string): string {
  return `${from}:${spender}`;
}

export function emptyState(genesis: LedgerHeader, network: LocalnetNetwork = TESTNET): LedgerState {
  return { accounts: new Map(), usdc: new Map(), nonces: new Map(), allowances: new Map(), txs: new Map(), latest: genesis, oldest: genesis, network };
}

const bigintString = z.string().regex(/^-?\d+$/).transform((s) => BigInt(s));
const header = z.object({ sequence: z.number().int(), closeTime: z.number().int(), hash: z.string() });
const fileSchema = z.object({
  version: z.literal(1),
  // Absent in files written before the ledger could pose as pubnet: those were all testnet.
  network: z.enum(NETWORKS).optional(),
  latest: header,
  oldest: header,
  accounts: z.record(
    z.string(),
    z.object({ balance: bigintString, seqNum: bigintString, seqLedger: z.number().int(), seqTime: bigintString, lastModified: z.number().int() }),
  ),
  usdc: z.record(z.string(), z.object({ balance: bigintString, lastModified: z.number().int() })),
  nonces: z.record(z.string(), z.number().int()),
  // Absent in files written before the ledger kept allowances.
  allowances: z
    .record(z.string(), z.object({ amount: bigintString, liveUntil: z.number().int(), ttl: z.number().int(), lastModified: z.number().int() }))
    .optional(),
  txs: z.record(
    z.string(),
    z.object({
      hash: z.string(),
      status: z.enum(['SUCCESS', 'FAILED']),
      ledger: z.number().int(),
      createdAt: z.number().int(),
      applicationOrder: z.number().int(),
      feeBump: z.boolean(),
      envelopeXdr: z.string(),
      resultXdr: z.string(),
      resultMetaXdr: z.string(),
      diagnosticEventsXdr: z.array(z.string()),
      contractEventsXdr: z.array(z.array(z.string())),
      transactionEventsXdr: z.array(z.string()),
    }),
  ),
});

export function serializeState(state: LedgerState): string {
  const str = (v: bigint) => v.toString();
  return JSON.stringify({
    version: 1,
    network: state.network.network,
    latest: state.latest,
    oldest: state.oldest,
    accounts: Object.fromEntries(
      [...state.accounts].map(([id, a]) => [id, { balance: str(a.balance), seqNum: str(a.seqNum), seqLedger: a.seqLedger, seqTime: str(a.seqTime), lastModified: a.lastModified }]),
    ),
    usdc: Object.fromEntries([...state.usdc].map(([id, h]) => [id, { balance: str(h.balance), lastModified: h.lastModified }])),
    nonces: Object.fromEntries(state.nonces),
    allowances: Object.fromEntries([...state.allowances].map(([k, a]) => [k, { amount: str(a.amount), liveUntil: a.liveUntil, ttl: a.ttl, lastModified: a.lastModified }])),
    txs: Object.fromEntries(state.txs),
  });
}

export function deserializeState(text: string, network: LocalnetNetwork = TESTNET): LedgerState {
  const parsed = fileSchema.parse(JSON.parse(text));
  const saved = parsed.network ?? 'stellar:testnet';
  // Balances and history signed for one network are meaningless on another: refuse rather than mix them.
  if (saved !== network.network) throw new Error(`the state file holds a ${saved} ledger, not ${network.network}; use another LOCALNET_STATE`);
  return {
    network,
    latest: parsed.latest,
    oldest: parsed.oldest,
    accounts: new Map(Object.entries(parsed.accounts)),
    usdc: new Map(Object.entries(parsed.usdc)),
    nonces: new Map(Object.entries(parsed.nonces)),
    allowances: new Map(Object.entries(parsed.allowances ?? {})),
    txs: new Map(Object.entries(parsed.txs)),
  };
}

/** Returns undefined when there is no state file yet; a corrupt file throws rather than silently starting empty. */
export function loadStateFile(path: string, network: LocalnetNetwork = TESTNET): LedgerState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return deserializeState(text, network);
}

/** Temp file + fsync + rename, so a crash leaves either the old or the new state, never half of one. */
export function saveStateFile(path: string, state: LedgerState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, serializeState(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
