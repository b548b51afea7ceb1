import type { Keypair } from '@stellar/stellar-sdk';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ChannelLease, ChannelPool } from '../stellar/channels.js';
import { NativeSigner } from '../stellar/ed25519.js';
import { buildInvokeEnvelope, type SignedEnvelope } from '../stellar/envelope.js';
import { LedgerWatcher } from '../stellar/ledger-watcher.js';
import type { SendResult, SorobanRpc, TransactionLookup } from '../stellar/rpc.js';
import { TransactionWatcher } from '../stellar/transaction-watcher.js';
import type { PaymentPayload, PaymentRequirements } from '../protocol/x402.js';
import { checkPaymentOnLedger, inspectPayment, type InspectedPayment, type LedgerChecked } from '../x402/verify.js';
import type { EnvelopeTracking, Facilitator, SettleHooks, SettleOutcome, VerificationHandle, VerifyOutcome } from './types.js';

/** Attempts to get a settlement accepted (TRY_AGAIN_LATER, bad seq, send errors) before giving up. */
export const MAX_SEND_ATTEMPTS = 4;
/** Extra attempts granted by TRY_AGAIN_LATER answers (each waits for the next ledger). */
export const MAX_TRY_AGAIN_LATER = 8;
/** Retries of one identical envelope when the RPC could not be reached. */
const MAX_IDENTICAL_RESENDS = 3;

export interface LocalFacilitatorOptions {
  rpc: SorobanRpc;
  channels: ChannelPool;
  networkPassphrase: string;
  ledgerSeconds: number;
  maxFeeStroops: bigint;
  feePayer?: Keypair;
  /** Other accounts of ours that must never appear in a payment (the treasury). */
  protectedAddresses?: readonly string[];
  pollTimeoutMs: number;
  pollIntervalMs: number;
  clock: Clock;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

interface Verified {
  inspected: InspectedPayment;
  ledger: LedgerChecked;
  requirements: PaymentRequirements;
}

function sameRequirements(a: PaymentRequirements, b: PaymentRequirements): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Our own facilitator: verification per the exact-Stellar spec, and settlement that rebuilds the
 * payer's invocation on a channel account (optionally fee-bumped by a fee payer), signs, sends and
 * polls, surviving TRY_AGAIN_LATER, DUPLICATE, bad sequence numbers and slow ledgers.
 */
export class LocalFacilitator implements Facilitator {
  private readonly ownAddresses: ReadonlySet<string>;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The handles this facilitator issued (verify → settle); any other value is ignored. */
  private readonly tokens = new WeakSet<object>();
  private readonly watcher: LedgerWatcher;
  private readonly transactions: TransactionWatcher;
  /** Native signers by key pair (the pool's channel key pairs are long-lived objects). */
  private readonly signers = new WeakMap<Keypair, NativeSigner>();
  private readonly feePayer: NativeSigner | undefined;

  constructor(private readonly opts: LocalFacilitatorOptions) {
    this.ownAddresses = new Set([
      ...opts.channels.addresses,
      ...(opts.feePayer ? [opts.feePayer.publicKey()] : []),
      ...(opts.protectedAddresses ?? []),
    ]);
    this.sleep = opts.sleep ?? defaultSleep;
    this.feePayer = opts.feePayer ? new NativeSigner(opts.feePayer) : undefined;
    this.watcher = new LedgerWatcher({
      latestLedger: () => opts.rpc.latestLedger(),
      intervalMs: opts.pollIntervalMs,
      clock: opts.clock,
      sleep: this.sleep,
      onError: (err) => opts.logger.warn('getLatestLedger failed; polling on', { err }),
    });
    this.transactions = new TransactionWatcher({ ledgers: this.watcher, lookup: (hashes) => opts.rpc.transactions(hashes), clock: opts.clock });
  }

  async addresses(): Promise<ReadonlySet<string>> {
    return this.ownAddresses;
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements, hint?: InspectedPayment): Promise<VerifyOutcome> {
    let inspectedPayment: InspectedPayment;
    if (hint && hint.transactionXdr === payload.payload.transaction && sameRequirements(hint.checkedAgainst, requirements)) {
      inspectedPayment = hint;
    } else {
      const inspected = inspectPayment(payload, requirements, {
        networkPassphrase: this.opts.networkPassphrase,
        facilitatorAddresses: this.ownAddresses,
        maxFeeStroops: this.opts.maxFeeStroops,
      });
      if (!inspected.ok) return inspected.payer === undefined ? { ok: false, reason: inspected.reason } : inspected;
      inspectedPayment = inspected.value;
    }
    const ledger = await checkPaymentOnLedger(inspectedPayment, requirements, {
      ledger: this.opts.rpc,
      ledgerSeconds: this.opts.ledgerSeconds,
      maxFeeStroops: this.opts.maxFeeStroops,
    });
    if (!ledger.ok) return ledger.payer === undefined ? { ok: false, reason: ledger.reason } : ledger;
    const token: Verified = { inspected: inspectedPayment, ledger: ledger.value, requirements };
    this.tokens.add(token);
    return { ok: true, payer: inspectedPayment.payer, handle: token as unknown as VerificationHandle };
  }

  private tokenFor(value: unknown, requirements: PaymentRequirements): Verified | undefined {
    if (typeof value !== 'object' || value === null || !this.tokens.has(value)) return undefined;
    const token = value as Verified;
    return token.requirements === requirements || JSON.stringify(token.requirements) === JSON.stringify(requirements) ? token : undefined;
  }

  private build(verified: Verified, lease: { keypair: Keypair }, sequence: bigint): SignedEnvelope {
    const { inspected, ledger, requirements } = verified;
    return buildInvokeEnvelope({
      source: this.signerFor(lease.keypair),
      sequence: sequence + 1n,
      feeStroops: ledger.feeStroops,
      maxTimeUnixSeconds: Math.floor(this.opts.clock.nowMs() / 1000) + requirements.maxTimeoutSeconds,
      hostFunction: inspected.hostFunction,
      auth: inspected.auth,
      sorobanData: ledger.transactionData,
      networkPassphrase: this.opts.networkPassphrase,
      feePayer: this.feePayer,
    });
  }

  private signerFor(keypair: Keypair): NativeSigner {
    let signer = this.signers.get(keypair);
    if (!signer) {
      signer = new NativeSigner(keypair);
      this.signers.set(keypair, signer);
    }
    return signer;
  }

  /** Sends one envelope; an unreachable RPC is retried with the identical envelope (→ DUPLICATE if it got through). */
  private async sendOnce(envelope: SignedEnvelope): Promise<SendResult | 'unknown'> {
    for (let i = 0; i < MAX_IDENTICAL_RESENDS; i++) {
      try {
        return await this.opts.rpc.send(envelope.xdr);
      } catch (err) {
        this.opts.logger.warn('sendTransaction unreachable; resending the same envelope', { attempt: i + 1, err });
        await this.sleep(this.opts.pollIntervalMs);
      }
    }
    return 'unknown';
  }

  /**
   * Asks about the transaction once per closed ledger until it is found or the deadline passes; the
   * TransactionWatcher asks about every settlement waiting on a ledger in one batch.
   */
  private async poll(txHash: string, deadlineMs: number, sentAtLedger?: number): Promise<TransactionLookup | 'timeout'> {
    // Nothing can change before the next ledger closes: the first look waits for a ledger beyond the
    // one the send saw. Without it (the send's answer was lost) the first look is at the next poll.
    let after = sentAtLedger;
    for (;;) {
      const found = await this.transactions.lookupBeyond(txHash, after, deadlineMs);
      if (found === 'timeout') {
        // One last look: it may have landed in the ledger that closed at the deadline.
        const last = await this.opts.rpc.transaction(txHash).catch(() => undefined);
        return last && last.status !== 'NOT_FOUND' ? last : 'timeout';
      }
      if (found instanceof Error) {
        // Same `after`: asked again at the next poll, about one poll interval from now.
        this.opts.logger.warn('getTransaction failed; polling on', { txHash, err: found });
      } else if (found.status !== 'NOT_FOUND') {
        return found;
      } else {
        after = found.latestLedger;
      }
      if (this.opts.clock.nowMs() >= deadlineMs) return 'timeout';
    }
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements, hooks: SettleHooks = {}): Promise<SettleOutcome> {
    let verified = this.tokenFor(hooks.verified, requirements);
    if (!verified) {
      // /settle never trusts an earlier verification it did not make itself.
      const outcome = await this.verify(payload, requirements);
      if (!outcome.ok) return { status: 'failed', reason: outcome.reason };
      verified = outcome.handle as unknown as Verified;
    }
    let lastReason = 'not_sent';
    let tryAgainLater = 0;
    for (let attempt = 1; attempt <= MAX_SEND_ATTEMPTS + tryAgainLater; attempt++) {
      const lease = await this.opts.channels.acquire();
      let keepLease = false;
      try {
        const current = await lease.currentSequence();
        const envelope = this.build(verified, lease, current);
        const txHash = envelope.hash;
        const txMaxTimeMs = this.opts.clock.nowMs() + verified.requirements.maxTimeoutSeconds * 1000;
        await hooks.onSubmitting?.(txHash, envelope.xdr);
        const sent = await this.sendOnce(envelope);
        if (sent === 'unknown' || sent.status === 'PENDING' || sent.status === 'DUPLICATE') {
          lease.consumed(current + 1n);
          // The wait for landing starts at the send, not while queueing for a channel.
          const result = await this.poll(
            txHash,
            this.opts.clock.nowMs() + this.opts.pollTimeoutMs,
            sent === 'unknown' ? undefined : sent.latestLedger,
          );
          if (result === 'timeout' || result.status === 'NOT_FOUND') {
            // It may still land: the caller keeps the payment `settling` for the reconciler, and the
            // channel stays out of the pool until this transaction is resolved (one in flight each).
            keepLease = true;
            void this.drain(lease, txHash, txMaxTimeMs);
            return { status: 'pending', txHash, reason: sent === 'unknown' ? 'rpc_unreachable' : 'poll_timeout' };
          }
          if (result.status === 'SUCCESS') return { status: 'success', txHash, ledger: result.ledger };
          return { status: 'failed', reason: `transaction_failed${result.resultCode ? `:${result.resultCode}` : ''}`, txHash };
        }
        if (sent.status === 'TRY_AGAIN_LATER') {
          // Not accepted, sequence unused: retry after the next ledger (the network is busy, or the
          // channel still has a transaction queued). Bounded, so a stuck network fails cleanly.
          lastReason = 'try_again_later';
          if (tryAgainLater < MAX_TRY_AGAIN_LATER) tryAgainLater += 1;
          lease.release();
          await this.watcher.waitBeyond(await this.opts.rpc.latestLedger().catch(() => 0), this.opts.clock.nowMs() + this.opts.pollTimeoutMs);
          continue;
        }
        // ERROR: refused. But if an earlier identical send got through unseen, the refusal may be this
        // very transaction's own sequence number, already consumed by it: ask the ledger first.
        const landed = await this.opts.rpc.transaction(txHash).catch(() => undefined);
        if (landed && landed.status !== 'NOT_FOUND') {
          lease.consumed(current + 1n);
          if (landed.status === 'SUCCESS') return { status: 'success', txHash, ledger: landed.ledger };
          return { status: 'failed', reason: `transaction_failed${landed.resultCode ? `:${landed.resultCode}` : ''}`, txHash };
        }
        // Refused outright. A bad sequence number means our copy was stale; anything else may be this
        // channel's problem (e.g. its fee balance). The payer's auth nonce makes retrying safe.
        lastReason = `send_error${sent.errorResultCode ? `:${sent.errorResultCode}` : ''}`;
        lease.invalidate();
        this.opts.logger.warn('sendTransaction refused a settlement', { attempt, reason: lastReason });
      } catch (err) {
        lease.invalidate();
        throw err;
      } finally {
        if (!keepLease) lease.release();
      }
    }
    return { status: 'failed', reason: lastReason };
  }

  /**
   * Holds a channel whose transaction outcome is unknown until the ledger decides: found (its
   * sequence is consumed) or past its time bounds and still absent (it can never land; reload).
   */
  private async drain(lease: ChannelLease, txHash: string, txMaxTimeMs: number): Promise<void> {
    const giveUpMs = txMaxTimeMs + 2 * this.opts.ledgerSeconds * 1000;
    try {
      for (;;) {
        const found = await this.opts.rpc.transaction(txHash).catch(() => undefined);
        if (found && found.status !== 'NOT_FOUND') break;
        if (this.opts.clock.nowMs() >= giveUpMs) break;
        const seen = found?.latestLedger ?? (await this.opts.rpc.latestLedger().catch(() => 0));
        await this.watcher.waitBeyond(seen, giveUpMs);
      }
    } finally {
      lease.invalidate();
      lease.release();
    }
  }

  /** Every envelope is reported through `hooks.onSubmitting` before it is sent, so it can be found and resent. */
  readonly envelopes: EnvelopeTracking = {
    lookup: (txHash: string): Promise<TransactionLookup> => this.opts.rpc.transaction(txHash),
    resubmit: (envelopeXdr: string): Promise<SendResult> => this.opts.rpc.send(envelopeXdr),
  };
}
