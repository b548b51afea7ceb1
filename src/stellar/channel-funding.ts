import { Account, Asset, Operation, TransactionBuilder, type Keypair, type xdr } from '@stellar/stellar-sdk';
import type { Logger } from '../logger.js';
import type { SorobanRpc } from './rpc.js';

/** A classic transaction carries at most 100 operations: channels are created and topped up in batches of this. */
export const FUNDING_OPS_PER_TX = 100;
/** A funding transaction is valid this long; after it (and a margin) an unseen one can never land. */
export const FUNDING_TX_TIMEOUT_SECONDS = 30;
const FUNDING_INCLUSION_FEE_PER_OP = 100;
const STROOPS_PER_XLM = 10_000_000n;

export interface ChannelFundingOptions {
  rpc: SorobanRpc;
  /** The account channels are created and topped up from. */
  funding: Keypair;
  /** The channel accounts (addresses). */
  channels: readonly string[];
  networkPassphrase: string;
  /** A channel below this balance (stroops) is topped up. */
  lowStroops: bigint;
  /** What a new channel starts with and what a top-up sends (stroops). */
  topUpStroops: bigint;
  /**
   * Runs `work` while nothing else sends from the funding account: in this process, and on
   * PostgreSQL across instances (an advisory lock). Balances are read inside it, so a top-up that
   * another instance just made is seen and never repeated.
   */
  exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  logger: Logger;
  pollIntervalMs?: number;
  /** How long after a use a channel's balance is checked (uses in that time share one read). */
  afterUseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Creates the channel accounts that do not exist yet and keeps every channel's XLM (which pays
 * the settlement fees) above `lowStroops`: at start-up (`ensure`), periodically (`start`) and
 * shortly after each use (`noteUsed`). Every transaction from the funding account runs under
 * `exclusive` and is followed to its end before the next, so one channel is never topped up twice
 * for one shortfall.
 */
export class ChannelFunding {
  /** The last balance read for each channel (stroops); absent: not read yet or does not exist. */
  private readonly balances = new Map<string, bigint>();
  private readonly used = new Set<string>();
  private afterUse: ReturnType<typeof setTimeout> | undefined;
  private periodic: ReturnType<typeof setInterval> | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: ChannelFundingOptions) {}

  get size(): number {
    return this.opts.channels.length;
  }

  /** Channels known to be below the threshold (or missing) at the last read. */
  get lowCount(): number {
    let low = 0;
    for (const address of this.opts.channels) {
      const balance = this.balances.get(address);
      if (balance === undefined || balance < this.opts.lowStroops) low++;
    }
    return low;
  }

  /**
   * Start-up: reads every channel, creates the missing ones (FUNDING_OPS_PER_TX per transaction)
   * and tops up the low ones. Idempotent: existing channels are left as they are. Returns the
   * sequence numbers read, so the pool starts from the ledger's.
   */
  async ensure(): Promise<{ created: number; toppedUp: number; sequences: Map<string, bigint> }> {
    return this.opts.exclusive(async () => {
      const all = this.opts.channels;
      let accounts = await this.opts.rpc.accounts(all);
      const missing = all.filter((a) => !accounts.has(a));
      if (missing.length > 0) {
        this.opts.logger.info('creating channel accounts', { missing: missing.length, of: all.length, batches: Math.ceil(missing.length / FUNDING_OPS_PER_TX) });
        let done = 0;
        for (let i = 0; i < missing.length; i += FUNDING_OPS_PER_TX) {
          const batch = missing.slice(i, i + FUNDING_OPS_PER_TX);
          await this.submit(batch.map((destination) => Operation.createAccount({ destination, startingBalance: xlm(this.opts.topUpStroops) })));
          done += batch.length;
          this.opts.logger.info('channel accounts created', { done, of: missing.length });
        }
        accounts = await this.opts.rpc.accounts(all);
        const stillMissing = all.filter((a) => !accounts.has(a));
        if (stillMissing.length > 0) throw new Error(`${stillMissing.length} channel accounts could not be created`);
      }
      for (const [address, account] of accounts) this.balances.set(address, account.balance);
      const toppedUp = await this.topUpLow(all.filter((a) => (accounts.get(a)?.balance ?? 0n) < this.opts.lowStroops));
      return { created: missing.length, toppedUp, sequences: new Map([...accounts].map(([address, a]) => [address, a.sequence])) };
    });
  }

  /** Reads the balances of `addresses` (default: every channel) and tops up those below the threshold. */
  check(addresses: readonly string[] = this.opts.channels): Promise<number> {
    return this.opts.exclusive(async () => {
      const accounts = await this.opts.rpc.accounts(addresses);
      for (const [address, account] of accounts) this.balances.set(address, account.balance);
      return this.topUpLow(addresses.filter((a) => (accounts.get(a)?.balance ?? this.opts.lowStroops) < this.opts.lowStroops));
    });
  }

  /** A channel was used (it paid a fee): its balance is checked soon, with the others used meanwhile. */
  noteUsed(address: string): void {
    if (this.stopped || !this.periodic) return; // only once started
    this.used.add(address);
    if (this.afterUse) return;
    this.afterUse = setTimeout(() => {
      this.afterUse = undefined;
      const batch = [...this.used];
      this.used.clear();
      this.track(this.check(batch));
    }, this.opts.afterUseDelayMs ?? 1000);
    this.afterUse.unref();
  }

  /** Checks every channel every `intervalMs`. */
  start(intervalMs: number): this {
    this.periodic = setInterval(() => this.track(this.check()), intervalMs);
    this.periodic.unref();
    return this;
  }

  /** Stops the checks and waits for one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.periodic) clearInterval(this.periodic);
    if (this.afterUse) clearTimeout(this.afterUse);
    await this.running;
  }

  private track(work: Promise<unknown>): void {
    const guarded = work.catch((err: unknown) => this.opts.logger.error('channel top-up failed', { err }));
    this.running = Promise.all([this.running, guarded]);
  }

  private async topUpLow(low: readonly string[]): Promise<number> {
    if (low.length === 0) return 0;
    this.opts.logger.info('topping up channel accounts', { channels: low.length, xlmEach: xlm(this.opts.topUpStroops) });
    for (let i = 0; i < low.length; i += FUNDING_OPS_PER_TX) {
      const batch = low.slice(i, i + FUNDING_OPS_PER_TX);
      await this.submit(batch.map((destination) => Operation.payment({ destination, asset: Asset.native(), amount: xlm(this.opts.topUpStroops) })));
      for (const address of batch) this.balances.set(address, (this.balances.get(address) ?? 0n) + this.opts.topUpStroops);
    }
    return low.length;
  }

  /** Builds, signs and sends one funding transaction and follows it until it lands or can no longer land. */
  private async submit(ops: xdr.Operation[]): Promise<void> {
    const { rpc, funding } = this.opts;
    const sequence = await rpc.accountSequence(funding.publicKey());
    if (sequence === undefined) throw new Error(`the funding account ${funding.publicKey()} does not exist on the ledger`);
    let builder = new TransactionBuilder(new Account(funding.publicKey(), sequence.toString()), {
      fee: String(FUNDING_INCLUSION_FEE_PER_OP),
      networkPassphrase: this.opts.networkPassphrase,
    });
    for (const op of ops) builder = builder.addOperation(op);
    const tx = builder.setTimeout(FUNDING_TX_TIMEOUT_SECONDS).build();
    tx.sign(funding);
    const sent = await rpc.send(tx);
    if (sent.status !== 'PENDING' && sent.status !== 'DUPLICATE') {
      throw new Error(`funding transaction refused: ${sent.status}${sent.errorResultCode ? ` ${sent.errorResultCode}` : ''}`);
    }
    const now = this.opts.now ?? Date.now;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    // Past its time bound (and a margin for the last ledger) an unseen transaction can never land.
    const deadline = now() + (FUNDING_TX_TIMEOUT_SECONDS + 10) * 1000;
    let waitedSince = now();
    for (;;) {
      const found = await rpc.transaction(sent.hash);
      if (found.status === 'SUCCESS') return;
      if (found.status === 'FAILED') throw new Error(`funding transaction ${sent.hash} failed${found.resultCode ? `: ${found.resultCode}` : ''}`);
      if (now() > deadline) throw new Error(`funding transaction ${sent.hash} did not land before its time bound`);
      if (now() - waitedSince >= 10_000) {
        this.opts.logger.info('waiting for a funding transaction to land', { hash: sent.hash });
        waitedSince = now();
      }
      await sleep(this.opts.pollIntervalMs ?? 500);
    }
  }
}

/** Stroops as the SDK's decimal XLM string (7 places). */
function xlm(stroops: bigint): string {
  const whole = stroops / STROOPS_PER_XLM;
  const frac = (stroops % STROOPS_PER_XLM).toString().padStart(7, '0');
  return `${whole}.${frac}`;
}
