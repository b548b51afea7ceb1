import { xdr } from '@stellar/stellar-sdk';
import { buildEntry, entryKeyString, type EntryReader, type EntryRef } from './entries.js';
import type { LocalnetNetwork } from './network.js';
import { allowanceKey, nonceKey, type AccountState, type Allowance, type LedgerState, type UsdcHolding } from './state.js';

/**
 * A copy-on-write view of the ledger for one host invocation. It records every entry the invocation touches
 * (that is the footprint simulation returns and apply enforces) and commits only when the invocation succeeds,
 * so a failed transfer leaves balances and nonces exactly as they were.
 */
export class LedgerView implements EntryReader {
  private readonly holdings = new Map<string, UsdcHolding>();
  private readonly newNonces = new Map<string, number>();
  private readonly allowances = new Map<string, Allowance>();
  readonly readOnly = new Map<string, EntryRef>();
  readonly readWrite = new Map<string, EntryRef>();

  constructor(
    private readonly base: LedgerState,
    readonly ledgerSeq: number,
  ) {}

  get network(): LocalnetNetwork {
    return this.base.network;
  }

  account(id: string): AccountState | undefined {
    return this.base.accounts.get(id);
  }

  usdc(holder: string): UsdcHolding | undefined {
    return this.holdings.get(holder) ?? this.base.usdc.get(holder);
  }

  nonce(address: string, nonce: bigint): number | undefined {
    const key = nonceKey(address, nonce);
    return this.newNonces.get(key) ?? this.base.nonces.get(key);
  }

  allowance(from: string, spender: string): Allowance | undefined {
    const key = allowanceKey(from, spender);
    const a = this.allowances.get(key) ?? this.base.allowances.get(key);
    // A temporary entry past its TTL no longer exists for the host (the state keeps it until the close that prunes it).
    return a && a.ttl >= this.ledgerSeq ? a : undefined;
  }

  /** The committed state this view started from. */
  before(): EntryReader {
    return baseReader(this.base);
  }

  read(ref: EntryRef): void {
    const k = entryKeyString(ref, this.base.network);
    if (!this.readWrite.has(k)) this.readOnly.set(k, ref);
  }

  write(ref: EntryRef): void {
    const k = entryKeyString(ref, this.base.network);
    this.readOnly.delete(k);
    this.readWrite.set(k, ref);
  }

  putUsdc(holder: string, balance: bigint): void {
    this.write({ kind: 'usdc', holder });
    this.holdings.set(holder, { balance, lastModified: this.ledgerSeq });
  }

  putNonce(address: string, nonce: bigint, expirationLedger: number): void {
    this.write({ kind: 'nonce', address, nonce });
    this.newNonces.set(nonceKey(address, nonce), expirationLedger);
  }

  putAllowance(from: string, spender: string, value: Omit<Allowance, 'lastModified'>): void {
    this.write({ kind: 'allowance', from, spender });
    this.allowances.set(allowanceKey(from, spender), { ...value, lastModified: this.ledgerSeq });
  }

  newEntryCounts(): { temporary: number; persistent: number } {
    let persistent = 0;
    for (const [holder] of this.holdings) if (!this.base.usdc.has(holder)) persistent++;
    let temporary = this.newNonces.size;
    for (const [key] of this.allowances) {
      const before = this.base.allowances.get(key);
      if (!before || before.ttl < this.ledgerSeq) temporary++;
    }
    return { temporary, persistent };
  }

  /** Meta changes (state/updated, or created) for every entry written, computed before commit. */
  changes(): xdr.LedgerEntryChange[] {
    const out: xdr.LedgerEntryChange[] = [];
    for (const ref of this.readWrite.values()) {
      const before = buildEntry(ref, baseReader(this.base));
      const after = buildEntry(ref, this);
      if (!after) continue;
      if (before) {
        out.push(xdr.LedgerEntryChange.ledgerEntryState(before.entry));
        out.push(xdr.LedgerEntryChange.ledgerEntryUpdated(after.entry));
      } else {
        out.push(xdr.LedgerEntryChange.ledgerEntryCreated(after.entry));
      }
    }
    return out;
  }

  commit(): void {
    for (const [holder, h] of this.holdings) this.base.usdc.set(holder, h);
    for (const [key, exp] of this.newNonces) this.base.nonces.set(key, exp);
    for (const [key, a] of this.allowances) this.base.allowances.set(key, a);
  }
}

export function baseReader(state: LedgerState): EntryReader {
  return {
    network: state.network,
    account: (id) => state.accounts.get(id),
    usdc: (holder) => state.usdc.get(holder),
    nonce: (address, nonce) => state.nonces.get(nonceKey(address, nonce)),
    allowance: (from, spender) => {
      const a = state.allowances.get(allowanceKey(from, spender));
      // Seen from the next ledger to close, as simulation and getLedgerEntries see the state.
      return a && a.ttl > state.latest.sequence ? a : undefined;
    },
  };
}
