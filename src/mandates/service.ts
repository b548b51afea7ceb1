import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { MandateRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ATOMIC_PER_CENT, atomicToCents, centsToAtomic, formatAtomic, formatCents } from '../protocol/money/units.js';
import { DEFAULT_MANDATE_SECONDS, type createMandateRequestSchema, type MandateApproval, type MandateView } from '../protocol/mandates.js';
import { InvocationRefusedError, type MandateAccount } from '../stellar/mandate-account.js';
import { checkApproveEntry } from './auth-entry.js';
import { allowanceCents } from './periods.js';
import { findMandate, insertMandate, listMandatePurchases, transitionMandate, type MandatePurchase } from './repository.js';
import { allowanceConsumedAtomic, ruleStandings, type MandateRule } from './rules.js';

/** Temporary entries live at most this many ledgers (the network's maximum entry TTL). */
const MAX_ENTRY_TTL_LEDGERS = 3_110_400;
/** Ledgers an approval's live_until may run past the mandate's expiry (the owner signed it a little earlier). */
const LIVE_UNTIL_SLACK_LEDGERS = 120;
/** How far ahead an owner's signed entry may expire. */
const MAX_SIGNATURE_LEDGERS = 1_000;

/** `expiresAtMs` absent: DEFAULT_MANDATE_SECONDS from now. */
export type CreateMandateInput = z.output<typeof createMandateRequestSchema> & { expiresAtMs?: number };

export interface MandateServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  account: MandateAccount;
  network: string;
  publicBaseUrl: string;
  ledgerSeconds: number;
  pollTimeoutMs: number;
  pollIntervalMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A mandate as it stands now: its row after refresh, its purchases and the allowance left on-chain (null: unreadable). */
export interface MandateState {
  row: MandateRow;
  purchases: MandatePurchase[];
  allowanceLeft: bigint | null;
}

export function newMandateId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(17);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 26; i++) out += alphabet[Number((bits >> BigInt(i * 5)) & 31n)];
  return `md_${out}`;
}

/** Dollars with cents ("40.70"); an amount finer than a cent (set on-chain by the owner) in full. */
function dollars(atomic: bigint): string {
  return atomic % ATOMIC_PER_CENT === 0n ? formatCents(atomicToCents(atomic)) : formatAtomic(atomic);
}

export function rulesOf(row: MandateRow): MandateRule[] {
  return JSON.parse(row.rules_json) as MandateRule[];
}

/**
 * Mandates (docs/ARCHITECTURE.md, "Mandates"): the agent asks, the owner approves the allowance
 * on-chain (card402 sponsors the fee and submits), and either may see where it stands; the owner
 * revokes here or on-chain. Purchases within a mandate are payments (payments/mandate-checkout.ts).
 */
export class MandateService {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: MandateServiceDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get spender(): string {
    return this.deps.account.address;
  }

  async create(agent: string, input: CreateMandateInput): Promise<MandateView> {
    const nowMs = this.deps.clock.nowMs();
    const expiresAtMs = input.expiresAtMs ?? nowMs + DEFAULT_MANDATE_SECONDS * 1000;
    const rules: MandateRule[] = input.rules.map((r) => ({ period: r.period, amountCents: r.amount }));
    const row: MandateRow = {
      id: newMandateId(),
      agent_address: agent,
      owner_address: input.ownerAddress,
      spender_address: this.spender,
      asset: this.deps.account.asset,
      network: this.deps.network,
      rules_json: JSON.stringify(rules),
      note: input.note ?? null,
      allowance_atomic: centsToAtomic(allowanceCents(rules, nowMs, expiresAtMs)).toString(),
      phase: 'requires-verification',
      end_reason: null,
      live_until_ledger: null,
      approve_tx_hash: null,
      approve_envelope_xdr: null,
      approved_at: null,
      revoke_tx_hash: null,
      created_at: nowMs,
      expires_at: expiresAtMs,
      updated_at: nowMs,
    };
    await insertMandate(this.deps.db, row);
    this.deps.logger.info('mandate requested', { mandateId: row.id, agent, owner: row.owner_address });
    return this.view({ row, purchases: [], allowanceLeft: null });
  }

  /** The mandate for its agent or its owner; anyone else learns nothing (404). */
  async getFor(id: string, wallet: string): Promise<MandateView> {
    const state = await this.state(id);
    if (state.row.agent_address !== wallet && state.row.owner_address !== wallet) throw new DomainError('mandate_not_found', 'mandate not found');
    return this.view(state);
  }

  /** For the approval page: whoever holds the link may see what they are asked to approve. */
  async getPublic(id: string): Promise<MandateView> {
    return this.view(await this.state(id));
  }

  /** What the owner signs to approve: the approve invocation with its live_until ledger (computed now). */
  async approval(id: string): Promise<MandateApproval> {
    const { row } = await this.state(id);
    if (row.phase !== 'requires-verification') throw new DomainError('mandate_not_active', `this mandate is ${row.phase}; it cannot be approved`, { phase: row.phase });
    const latestLedger = await this.deps.account.latestLedger();
    return {
      mandateId: row.id,
      network: row.network,
      networkPassphrase: this.deps.account.networkPassphrase,
      contract: row.asset,
      function: 'approve',
      from: row.owner_address,
      spender: row.spender_address,
      amountAtomic: row.allowance_atomic,
      liveUntilLedger: this.liveUntilFor(row, latestLedger),
      latestLedger,
    };
  }

  /**
   * The owner's signed approve entry: checked, put in a transaction from the mandate account
   * (card402 pays the fee), recorded, sent and awaited. `pending` when it has not landed in time
   * (the mandate becomes active when a later read finds it on the ledger).
   */
  async approve(id: string, authEntry: string): Promise<{ mandate: MandateView; pending: boolean }> {
    const account = this.deps.account;
    return account.exclusive(async () => {
      const { row } = await this.state(id);
      if (row.phase !== 'requires-verification') throw new DomainError('mandate_not_active', `this mandate is ${row.phase}; it cannot be approved`, { phase: row.phase });
      if (row.approve_tx_hash) return { mandate: await this.getPublic(id), pending: true };
      const latestLedger = await account.latestLedger();
      const checked = checkApproveEntry(authEntry, {
        owner: row.owner_address,
        spender: row.spender_address,
        asset: row.asset,
        amount: BigInt(row.allowance_atomic),
        liveUntilMin: latestLedger + 1,
        liveUntilMax: this.liveUntilFor(row, latestLedger) + LIVE_UNTIL_SLACK_LEDGERS,
        latestLedger,
        maxSignatureLedgers: MAX_SIGNATURE_LEDGERS,
      });
      if (!checked.ok) throw new DomainError('invalid_auth_entry', 'the authorization entry is not the approve this mandate asks for', { reason: checked.reason });
      let built;
      try {
        built = await account.buildApprove({ owner: row.owner_address, amount: BigInt(row.allowance_atomic), liveUntilLedger: checked.liveUntilLedger, authEntry: checked.entry });
      } catch (err) {
        if (err instanceof InvocationRefusedError) throw new DomainError('invalid_auth_entry', 'the ledger refused the signed approve', { reason: 'rejected_by_ledger' });
        throw err;
      }
      const nowMs = this.deps.clock.nowMs();
      const recorded = await transitionMandate(this.deps.db, id, ['requires-verification'], {
        approve_tx_hash: built.txHash,
        approve_envelope_xdr: built.envelopeXdr,
        live_until_ledger: checked.liveUntilLedger,
        updated_at: nowMs,
      });
      if (!recorded) throw new DomainError('mandate_not_active', 'this mandate can no longer be approved', { phase: 'unknown' });
      await account.send(built.envelopeXdr).catch((err) => this.deps.logger.warn('sending a mandate approve failed; a later read resends it', { mandateId: id, err }));
      const landed = await this.await(built.txHash);
      if (landed === 'SUCCESS') await this.markApproved(id);
      if (landed === 'FAILED') {
        await this.clearApproval(id);
        throw new DomainError('invalid_auth_entry', 'the approve failed on the ledger', { reason: 'approve_failed' });
      }
      return { mandate: await this.getPublic(id), pending: landed === 'timeout' };
    });
  }

  /**
   * The owner ends the mandate: no purchase is accepted from now on. With a signed
   * `approve(owner, spender, 0, …)` entry, card402 also clears the allowance on-chain (fee sponsored).
   */
  async revoke(id: string, wallet: string, authEntry?: string): Promise<MandateView> {
    const { row } = await this.state(id);
    if (row.owner_address !== wallet) {
      if (row.agent_address === wallet) throw new DomainError('owner_only', 'only the mandate owner can revoke it');
      throw new DomainError('mandate_not_found', 'mandate not found');
    }
    const nowMs = this.deps.clock.nowMs();
    await transitionMandate(this.deps.db, id, ['requires-verification', 'active'], { phase: 'revoked', end_reason: 'owner', updated_at: nowMs });
    this.deps.logger.info('mandate revoked by its owner', { mandateId: id });
    if (authEntry) await this.clearOnChain(row, authEntry);
    return this.getPublic(id);
  }

  private async clearOnChain(row: MandateRow, authEntry: string): Promise<void> {
    const account = this.deps.account;
    await account.exclusive(async () => {
      const latestLedger = await account.latestLedger();
      const checked = checkApproveEntry(authEntry, {
        owner: row.owner_address,
        spender: row.spender_address,
        asset: row.asset,
        amount: 0n,
        liveUntilMin: 0,
        liveUntilMax: latestLedger + MAX_ENTRY_TTL_LEDGERS - 1,
        latestLedger,
        maxSignatureLedgers: MAX_SIGNATURE_LEDGERS,
      });
      if (!checked.ok) throw new DomainError('invalid_auth_entry', 'the authorization entry is not approve(owner, spender, 0, …)', { reason: checked.reason });
      let built;
      try {
        built = await account.buildApprove({ owner: row.owner_address, amount: 0n, liveUntilLedger: checked.liveUntilLedger, authEntry: checked.entry });
      } catch (err) {
        if (err instanceof InvocationRefusedError) throw new DomainError('invalid_auth_entry', 'the ledger refused the signed approve', { reason: 'rejected_by_ledger' });
        throw err;
      }
      await transitionMandate(this.deps.db, row.id, ['revoked', 'expired'], { revoke_tx_hash: built.txHash, updated_at: this.deps.clock.nowMs() });
      await account.send(built.envelopeXdr).catch((err) => this.deps.logger.warn('sending a mandate revocation failed', { mandateId: row.id, err }));
      await this.await(built.txHash);
    });
  }

  /**
   * The mandate as it stands now, its phase brought up to date first: an approve found on the
   * ledger makes it active; past its expiry (or its allowance's live_until ledger) it is expired; an
   * on-chain allowance lower than what card402's own purchases left means the owner lowered or
   * cleared it, and the mandate is revoked.
   */
  async state(id: string): Promise<MandateState> {
    let row = await findMandate(this.deps.db, id);
    if (!row) throw new DomainError('mandate_not_found', 'mandate not found');
    const purchases = await listMandatePurchases(this.deps.db, id);
    const nowMs = this.deps.clock.nowMs();
    if (row.phase === 'requires-verification' && row.approve_tx_hash) {
      const found = await this.deps.account.lookup(row.approve_tx_hash).catch(() => undefined);
      if (found?.status === 'SUCCESS') await this.markApproved(id);
      else if (found?.status === 'FAILED') await this.clearApproval(id);
      else if (found?.status === 'NOT_FOUND' && row.approve_envelope_xdr) await this.deps.account.send(row.approve_envelope_xdr).catch(() => undefined);
    }
    row = (await findMandate(this.deps.db, id))!;
    let allowanceLeft: bigint | null = null;
    if (row.phase === 'active' || row.phase === 'requires-verification') {
      const latest = await this.deps.account.latestLedger().catch(() => undefined);
      const pastLedger = row.live_until_ledger !== null && latest !== undefined && latest + 1 > row.live_until_ledger;
      if (nowMs >= row.expires_at || (row.phase === 'active' && pastLedger)) {
        await transitionMandate(this.deps.db, id, [row.phase], { phase: 'expired', updated_at: nowMs });
        this.deps.logger.info('mandate expired', { mandateId: id });
      } else {
        allowanceLeft = await this.deps.account.allowance(row.owner_address).catch(() => null);
        if (row.phase === 'active' && allowanceLeft !== null && allowanceLeft < BigInt(row.allowance_atomic) - allowanceConsumedAtomic(purchases)) {
          await this.markRevokedOnChain(id);
        }
      }
      row = (await findMandate(this.deps.db, id))!;
    }
    return { row, purchases, allowanceLeft };
  }

  async markRevokedOnChain(id: string): Promise<void> {
    const moved = await transitionMandate(this.deps.db, id, ['active'], { phase: 'revoked', end_reason: 'on_chain', updated_at: this.deps.clock.nowMs() });
    if (moved) this.deps.logger.warn('the owner lowered or cleared a mandate allowance on-chain; the mandate is revoked', { mandateId: id });
  }

  view(state: MandateState): MandateView {
    const { row, purchases, allowanceLeft } = state;
    const nowMs = this.deps.clock.nowMs();
    const allowance = BigInt(row.allowance_atomic);
    return {
      id: row.id,
      phase: row.phase,
      agentAddress: row.agent_address,
      ownerAddress: row.owner_address,
      spender: row.spender_address,
      asset: row.asset,
      network: row.network,
      rules: ruleStandings(rulesOf(row), purchases, nowMs).map((s) => ({
        period: s.rule.period,
        amount: formatCents(s.rule.amountCents),
        spent: formatCents(s.spentCents),
        remaining: formatCents(s.remainingCents),
        periodStart: s.startMs === null ? null : new Date(s.startMs).toISOString(),
        periodEnd: s.endMs === null ? null : new Date(s.endMs).toISOString(),
      })),
      note: row.note,
      allowance: dollars(allowance),
      allowanceAtomic: allowance.toString(),
      allowanceLeftAtomic: allowanceLeft === null ? null : allowanceLeft.toString(),
      allowanceLeft: allowanceLeft === null ? null : dollars(allowanceLeft),
      liveUntilLedger: row.live_until_ledger,
      approvalUrl: `${this.deps.publicBaseUrl}/mandates/${row.id}/approve`,
      approveTxHash: row.approve_tx_hash,
      revokeTxHash: row.revoke_tx_hash,
      endReason: row.end_reason,
      createdAt: new Date(row.created_at).toISOString(),
      expiresAt: new Date(row.expires_at).toISOString(),
    };
  }

  /** The ledger the allowance lives until: the mandate's expiry, in ledgers from now (capped at the maximum TTL). */
  private liveUntilFor(row: MandateRow, latestLedger: number): number {
    const remainingSeconds = Math.max(0, (row.expires_at - this.deps.clock.nowMs()) / 1000);
    const ledgers = Math.ceil(remainingSeconds / this.deps.ledgerSeconds) + 1;
    return latestLedger + Math.min(ledgers, MAX_ENTRY_TTL_LEDGERS - 1);
  }

  private async markApproved(id: string): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    const moved = await transitionMandate(this.deps.db, id, ['requires-verification'], { phase: 'active', approved_at: nowMs, updated_at: nowMs });
    if (moved) this.deps.logger.info('mandate approved on-chain', { mandateId: id });
  }

  private async clearApproval(id: string): Promise<void> {
    await transitionMandate(this.deps.db, id, ['requires-verification'], { approve_tx_hash: null, approve_envelope_xdr: null, live_until_ledger: null, updated_at: this.deps.clock.nowMs() });
  }

  private async await(txHash: string): Promise<'SUCCESS' | 'FAILED' | 'timeout'> {
    const deadline = this.deps.clock.nowMs() + this.deps.pollTimeoutMs;
    for (;;) {
      const found = await this.deps.account.lookup(txHash).catch(() => undefined);
      if (found?.status === 'SUCCESS' || found?.status === 'FAILED') return found.status;
      if (this.deps.clock.nowMs() >= deadline) return 'timeout';
      await this.sleep(this.deps.pollIntervalMs);
    }
  }
}
