import { Account, Keypair, Operation, TransactionBuilder, type FeeBumpTransaction, type Transaction } from '@stellar/stellar-sdk';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ChannelPool } from '../stellar/channels.js';
import { LedgerWatcher } from '../stellar/ledger-watcher.js';
import type { SendResult, SorobanRpc, TransactionLookup } from '../stellar/rpc.js';
import type { PaymentPayload, PaymentRequirements } from '../x402/types.js';
import { checkPaymentOnLedger, inspectPayment, type InspectedPayment, type LedgerChecked } from '../x402/verify.js';
import type { Facilitator, SettleHooks, SettleOutcome, VerifyOutcome } from './types.js';

/** Attempts to get a settlement accepted (TRY_AGAIN_LATER, bad seq, send errors) before giving up. */
export const MAX_SEND_ATTEMPTS = 4;
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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Our own facilitator: verification per the exact-Stellar spec, and settlement that rebuilds the
 * payer's invocation on a channel account (optionally fee-bumped by a fee payer), signs, sends and
 * polls, surviving TRY_AGAIN_LATER, DUPLICATE, bad sequence numbers and slow ledgers.
 */
export class LocalFacilitator implements Facilitator {
  readonly kind = 'local' as const;
  private readonly ownAddresses: ReadonlySet<string>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly tokens = new WeakSet<object>();
  private readonly watcher: LedgerWatcher;

  constructor(private readonly opts: LocalFacilitatorOptions) {
    this.ownAddresses = new Set([
      ...opts.channels.addresses,
      ...(opts.feePayer ? [opts.feePayer.publicKey()] : []),
      ...(opts.protectedAddresses ?? []),
    ]);
    this.sleep = opts.sleep ?? defaultSleep;
    this.watcher = new LedgerWatcher({
      latestLedger: () => opts.rpc.latestLedger(),
      intervalMs: opts.pollIntervalMs,
      clock: opts.clock,
      sleep: this.sleep,
      onError: (err) => opts.logger.warn('getLatestLedger failed; polling on', { err }),
    });
  }

  async addresses(): Promise<ReadonlySet<string>> {
    return this.ownAddresses;
  }

  async verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyOutcome> {
    const inspected = inspectPayment(payload, requirements, {
      networkPassphrase: this.opts.networkPassphrase,
      facilitatorAddresses: this.ownAddresses,
      maxFeeStroops: this.opts.maxFeeStroops,
    });
    if (!inspected.ok) return inspected.payer === undefined ? { ok: false, reason: inspected.reason } : inspected;
    const ledger = await checkPaymentOnLedger(inspected.value, requirements, {
      ledger: this.opts.rpc,
      ledgerSeconds: this.opts.ledgerSeconds,
      maxFeeStroops: this.opts.maxFeeStroops,
    });
    if (!ledger.ok) return ledger.payer === undefined ? { ok: false, reason: ledger.reason } : ledger;
    const token: Verified = { inspected: inspected.value, ledger: ledger.value, requirements };
    this.tokens.add(token);
    return { ok: true, payer: inspected.value.payer, token };
  }

  private tokenFor(value: unknown, requirements: PaymentRequirements): Verified | undefined {
    if (typeof value !== 'object' || value === null || !this.tokens.has(value)) return undefined;
    const token = value as Verified;
    return token.requirements === requirements || JSON.stringify(token.requirements) === JSON.stringify(requirements) ? token : undefined;
  }

  private build(verified: Verified, lease: { keypair: Keypair; address: string }, sequence: bigint): Transaction | FeeBumpTransaction {
    const { inspected, ledger, requirements } = verified;
    const inner = new TransactionBuilder(new Account(lease.address, sequence.toString()), {
      fee: ledger.feeStroops.toString(),
      networkPassphrase: this.opts.networkPassphrase,
      sorobanData: ledger.transactionData,
    })
      .addOperation(Operation.invokeHostFunction({ func: inspected.operation.func, auth: inspected.operation.auth ?? [] }))
      .setTimeout(requirements.maxTimeoutSeconds)
      .build();
    inner.sign(lease.keypair);
    if (!this.opts.feePayer) return inner;
    const bumped = TransactionBuilder.buildFeeBumpTransaction(
      this.opts.feePayer,
      ledger.feeStroops.toString(),
      inner,
      this.opts.networkPassphrase,
    );
    bumped.sign(this.opts.feePayer);
    return bumped;
  }

  /** Sends one envelope; an unreachable RPC is retried with the identical envelope (→ DUPLICATE if it got through). */
  private async sendOnce(envelope: Transaction | FeeBumpTransaction): Promise<SendResult | 'unknown'> {
    for (let i = 0; i < MAX_IDENTICAL_RESENDS; i++) {
      try {
        return await this.opts.rpc.send(envelope);
      } catch (err) {
        this.opts.logger.warn('sendTransaction unreachable; resending the same envelope', { attempt: i + 1, err });
        await this.sleep(this.opts.pollIntervalMs);
      }
    }
    return 'unknown';
  }

  /** Asks about the transaction once per closed ledger until it is found or the deadline passes. */
  private async poll(txHash: string, deadlineMs: number): Promise<TransactionLookup | 'timeout'> {
    for (;;) {
      let seen: number | undefined;
      try {
        const found = await this.opts.rpc.transaction(txHash);
        if (found.status !== 'NOT_FOUND') return found;
        seen = found.latestLedger;
      } catch (err) {
        this.opts.logger.warn('getTransaction failed; polling on', { txHash, err });
      }
      if (this.opts.clock.nowMs() >= deadlineMs) return 'timeout';
      if (seen === undefined) {
        await this.sleep(this.opts.pollIntervalMs);
        continue;
      }
      if ((await this.watcher.waitBeyond(seen, deadlineMs)) === 'timeout') {
        // One last look: it may have landed in the ledger that closed at the deadline.
        const last = await this.opts.rpc.transaction(txHash).catch(() => undefined);
        return last && last.status !== 'NOT_FOUND' ? last : 'timeout';
      }
    }
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements, hooks: SettleHooks = {}): Promise<SettleOutcome> {
    let verified = this.tokenFor(hooks.verified, requirements);
    if (!verified) {
      // /settle never trusts an earlier verification it did not make itself.
      const outcome = await this.verify(payload, requirements);
      if (!outcome.ok) return { status: 'failed', reason: outcome.reason };
      verified = outcome.token as Verified;
    }
    const deadlineMs = this.opts.clock.nowMs() + this.opts.pollTimeoutMs;
    let lastReason = 'not_sent';
    for (let attempt = 1; attempt <= MAX_SEND_ATTEMPTS; attempt++) {
      const lease = await this.opts.channels.acquire();
      try {
        const current = await lease.currentSequence();
        const envelope = this.build(verified, lease, current);
        const txHash = envelope.hash().toString('hex');
        await hooks.onSubmitting?.(txHash, envelope.toXDR());
        const sent = await this.sendOnce(envelope);
        if (sent === 'unknown' || sent.status === 'PENDING' || sent.status === 'DUPLICATE') {
          lease.consumed(current + 1n);
          const result = await this.poll(txHash, deadlineMs);
          if (result === 'timeout' || result.status === 'NOT_FOUND') {
            // It may still land: the caller keeps the payment `settling` for the reconciler.
            lease.invalidate();
            return { status: 'pending', txHash, reason: sent === 'unknown' ? 'rpc_unreachable' : 'poll_timeout' };
          }
          if (result.status === 'SUCCESS') return { status: 'success', txHash, ledger: result.ledger };
          return { status: 'failed', reason: `transaction_failed${result.resultCode ? `:${result.resultCode}` : ''}`, txHash };
        }
        if (sent.status === 'TRY_AGAIN_LATER') {
          // Not accepted, sequence unused: try again (next free channel) after a short pause.
          lastReason = 'try_again_later';
          await this.sleep(this.opts.pollIntervalMs);
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
        lease.release();
      }
    }
    return { status: 'failed', reason: lastReason };
  }

  lookup(txHash: string): Promise<TransactionLookup> {
    return this.opts.rpc.transaction(txHash);
  }

  resubmit(envelopeXdr: string): Promise<SendResult> {
    return this.opts.rpc.send(TransactionBuilder.fromXDR(envelopeXdr, this.opts.networkPassphrase));
  }
}
