import { createHash } from 'node:crypto';
import { StrKey } from '@stellar/stellar-sdk';
import { applyTransaction } from './apply.js';
import { FRIENDBOT_STROOPS, GENESIS_LEDGER, HISTORY_RETENTION_SECONDS, INT64_MAX } from './constants.js';
import { parseEnvelope, type ParsedEnvelope } from './envelope.js';
import { TESTNET, type LocalnetNetwork } from './network.js';
import { rejectionResult } from './results.js';
import { simulateTransaction, type SimulateAuthMode, type SimulateResponse } from './simulate.js';
import { emptyState, loadStateFile, saveStateFile, type LedgerHeader, type LedgerState, type TxRecord } from './state.js';
import { validateEnvelope } from './validate.js';

export type SendStatus = 'PENDING' | 'DUPLICATE' | 'TRY_AGAIN_LATER' | 'ERROR';

export interface SendResult {
  status: SendStatus;
  hash: string;
  errorResult?: string; // base64 TransactionResult
  reason?: string;
}

export interface LedgerOptions {
  /** The network the ledger poses as; default testnet. */
  network?: LocalnetNetwork;
  statePath?: string;
  /** Transactions older than this (by ledger close time) are forgotten; default 7 days. */
  historySeconds?: number;
  now: () => number; // ms
  log: (event: string, fields?: Record<string, unknown>) => void;
}

interface Queued {
  parsed: ParsedEnvelope;
  hash: string;
}

/**
 * The ledger proper: state, the transaction queue and ledger close. It knows nothing about HTTP;
 * the JSON-RPC layer and the code-level Localnet interface both drive it.
 */
export class Ledger {
  readonly state: LedgerState;
  private queue: Queued[] = [];
  private readonly pendingSources = new Map<string, string>(); // source account → queued tx hash
  private sendFaults: { status: 'TRY_AGAIN_LATER' | 'ERROR'; remaining: number } | undefined;

  constructor(private readonly opts: LedgerOptions) {
    const network = opts.network ?? TESTNET;
    const loaded = opts.statePath ? loadStateFile(opts.statePath, network) : undefined;
    const nowSec = Math.floor(opts.now() / 1000);
    this.state = loaded ?? emptyState({ sequence: GENESIS_LEDGER, closeTime: nowSec, hash: ledgerHash('genesis', GENESIS_LEDGER, []) }, network);
    if (loaded) opts.log('localnet_state_loaded', { path: opts.statePath, ledger: loaded.latest.sequence, accounts: loaded.accounts.size });
  }

  get latest(): LedgerHeader {
    return this.state.latest;
  }

  nowSeconds(): number {
    return Math.floor(this.opts.now() / 1000);
  }

  failNextSend(status: 'TRY_AGAIN_LATER' | 'ERROR', count = 1): void {
    this.sendFaults = count > 0 ? { status, remaining: count } : undefined;
  }

  simulate(envelopeXdr: string, authMode?: SimulateAuthMode, instructionLeeway?: number): SimulateResponse {
    const envelope = parseEnvelope(envelopeXdr, this.state.network.passphrase);
    return simulateTransaction(this.state, { envelope, ...(authMode ? { authMode } : {}), ...(instructionLeeway !== undefined ? { instructionLeeway } : {}) });
  }

  /** Mirrors stellar-core's queue admission: duplicate, one pending tx per source account, then validity. */
  send(envelopeXdr: string): SendResult {
    const parsed = parseEnvelope(envelopeXdr, this.state.network.passphrase);
    const hash = parsed.hash.toString('hex');
    if (this.sendFaults) {
      const { status } = this.sendFaults;
      if (--this.sendFaults.remaining <= 0) this.sendFaults = undefined;
      this.opts.log('localnet_send_fault', { hash, status });
      if (status === 'ERROR') return { status, hash, errorResult: rejectionResult(parsed, 'txINTERNAL_ERROR', false).toXDR('base64'), reason: 'injected fault' };
      return { status, hash };
    }
    if (this.queue.some((q) => q.hash === hash)) return { status: 'DUPLICATE', hash };
    if (this.pendingSources.has(parsed.source)) return { status: 'TRY_AGAIN_LATER', hash, reason: `account ${parsed.source} already has a pending transaction` };
    const v = validateEnvelope(parsed, { state: this.state, ledgerSeq: this.latest.sequence + 1, closeTime: this.nowSeconds() });
    if (!v.ok) {
      this.opts.log('localnet_tx_rejected', { hash, code: v.code, detail: v.detail });
      return { status: 'ERROR', hash, errorResult: rejectionResult(parsed, v.code, v.inner).toXDR('base64'), reason: `${v.code}: ${v.detail}` };
    }
    this.queue.push({ parsed, hash });
    this.pendingSources.set(parsed.source, hash);
    this.opts.log('localnet_tx_queued', { hash, source: parsed.source });
    return { status: 'PENDING', hash };
  }

  getTransaction(hash: string): TxRecord | undefined {
    return this.state.txs.get(hash.toLowerCase());
  }

  isPending(hash: string): boolean {
    return this.queue.some((q) => q.hash === hash.toLowerCase());
  }

  /**
   * Closes the next ledger. Queued transactions that are no longer valid (sequence taken, fee source drained,
   * time bounds passed) are dropped, never recorded, exactly as core trims them from the tx set: a dropped
   * transaction stays NOT_FOUND and never consumed its sequence number, so it can never be reported FAILED
   * and land later.
   */
  closeLedger(): { sequence: number; applied: number } {
    const sequence = this.latest.sequence + 1;
    // Wall-clock close times, never ahead of the clock. The network's ledgers are seconds apart and
    // each closes at least a second after the last; ledgers closing several times a second (tests,
    // LOCALNET_LEDGER_MS < 1000) would then run ahead of real time, until every transaction whose
    // time bounds were set from the clock (all of ours: now + maxTimeoutSeconds) arrived too late.
    const closeTime = Math.max(this.latest.closeTime, this.nowSeconds());
    const queued = this.queue;
    this.queue = [];
    this.pendingSources.clear();
    const appliedHashes: string[] = [];
    const sourcesThisLedger = new Set<string>();
    for (const q of queued) {
      if (sourcesThisLedger.has(q.parsed.source)) {
        // One Soroban transaction per source account per ledger: the rest wait for the next one.
        this.queue.push(q);
        this.pendingSources.set(q.parsed.source, q.hash);
        continue;
      }
      const v = validateEnvelope(q.parsed, { state: this.state, ledgerSeq: sequence, closeTime, signaturesVerified: true });
      if (!v.ok) {
        this.opts.log('localnet_tx_dropped', { hash: q.hash, code: v.code, detail: v.detail });
        continue;
      }
      sourcesThisLedger.add(q.parsed.source);
      const record = applyTransaction(q.parsed, { state: this.state, ledgerSeq: sequence, closeTime, applicationOrder: appliedHashes.length + 1 });
      this.state.txs.set(record.hash, record);
      appliedHashes.push(record.hash);
      this.opts.log('localnet_tx_applied', { hash: record.hash, status: record.status, ledger: sequence });
    }
    for (const [key, expiration] of this.state.nonces) {
      // An expired nonce can go: any entry signed with it is rejected as expired anyway.
      if (expiration < sequence) this.state.nonces.delete(key);
    }
    for (const [key, allowance] of this.state.allowances) {
      // A temporary entry past its TTL is gone from the network; an allowance merely past its liveUntil stays (it reads 0).
      if (allowance.ttl < sequence) this.state.allowances.delete(key);
    }
    this.state.latest = { sequence, closeTime, hash: ledgerHash(this.latest.hash, sequence, appliedHashes) };
    this.forgetOldTransactions();
    this.persist();
    return { sequence, applied: appliedHashes.length };
  }

  /**
   * Drops transactions that closed more than the history window ago, as soroban-rpc does (they
   * answer NOT_FOUND, with an oldestLedger past them). Without it the state file, rewritten at every
   * close, would grow with every transaction ever made. `oldest` becomes the oldest ledger whose
   * transactions are kept (per-ledger hashes are not kept, so its hash is left empty).
   */
  private forgetOldTransactions(): void {
    const cutoff = this.latest.closeTime - (this.opts.historySeconds ?? HISTORY_RETENTION_SECONDS);
    let forgot = false;
    for (const [hash, tx] of this.state.txs) {
      if (tx.createdAt >= cutoff) break; // kept in the order they were applied, so oldest first
      this.state.txs.delete(hash);
      forgot = true;
    }
    if (!forgot) return;
    const oldestKept = this.state.txs.values().next().value;
    this.state.oldest = oldestKept ? { sequence: oldestKept.ledger, closeTime: oldestKept.createdAt, hash: '' } : { ...this.latest };
  }

  /** Creates the account with `stroops`, or adds them to an existing one. */
  fundXlm(address: string, stroops: bigint = FRIENDBOT_STROOPS): 'created' | 'funded' {
    assertAccountId(address);
    if (stroops < 0n) throw new RangeError('stroops must not be negative');
    const existing = this.state.accounts.get(address);
    const seq = this.latest.sequence;
    if (existing) {
      if (existing.balance + stroops > INT64_MAX) throw new RangeError('balance would overflow int64');
      existing.balance += stroops;
      existing.lastModified = seq;
    } else {
      // A new account's sequence number starts at ledger << 32, as the network sets it.
      this.state.accounts.set(address, { balance: stroops, seqNum: BigInt(seq) << 32n, seqLedger: 0, seqTime: 0n, lastModified: seq });
    }
    this.persist();
    return existing ? 'funded' : 'created';
  }

  /** Mints test USDC; for a G address this opens its trustline (creating and funding the account if needed). */
  mintUsdc(address: string, atomic: bigint): void {
    if (atomic < 0n) throw new RangeError('amount must not be negative');
    if (StrKey.isValidEd25519PublicKey(address)) {
      if (!this.state.accounts.has(address)) this.fundXlm(address);
    } else if (!StrKey.isValidContract(address)) {
      throw new TypeError(`not a G or C address: ${address}`);
    }
    const current = this.state.usdc.get(address)?.balance ?? 0n;
    const limit = StrKey.isValidEd25519PublicKey(address) ? INT64_MAX : (1n << 127n) - 1n;
    if (current + atomic > limit) throw new RangeError('balance would exceed the trustline limit');
    this.state.usdc.set(address, { balance: current + atomic, lastModified: this.latest.sequence });
    this.persist();
  }

  persist(): void {
    if (this.opts.statePath) saveStateFile(this.opts.statePath, this.state);
  }
}

function assertAccountId(address: string): void {
  if (!StrKey.isValidEd25519PublicKey(address)) throw new TypeError(`not a G... account id: ${address}`);
}

function ledgerHash(previous: string, sequence: number, txHashes: string[]): string {
  return createHash('sha256').update(previous).update(String(sequence)).update(txHashes.join(',')).digest('hex');
}
