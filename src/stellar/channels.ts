import type { Keypair } from '@stellar/stellar-sdk';
import type { SorobanRpc } from './rpc.js';

/**
 * The shared leases of channel accounts when several card402 instances use the same channels
 * (src/db/leases.ts implements it over the database). Structural, so this module imports no db code.
 */
export interface ChannelLeases {
  take(name: string): Promise<{ taken: boolean; generation: number }>;
  release(name: string, generation: number, coolDownMs?: number): Promise<void>;
}

/** How long a channel held by another instance is left alone before it is asked for again. */
export const CHANNEL_RETRY_MS = 250;

/**
 * A pool of channel accounts that submit settlements. Each channel carries at most one in-flight
 * transaction (the network allows one per source account per ledger anyway), and its sequence
 * number is tracked locally: loaded from the ledger on first use, advanced when a transaction
 * consumes it, and reloaded whenever we are unsure (bad seq, a send or poll we could not confirm).
 */
export class ChannelPool {
  private readonly idle: Channel[];
  private readonly waiters: Array<(channel: Channel) => void> = [];
  private readonly released: Array<(address: string) => void> = [];
  readonly addresses: readonly string[];

  /**
   * With `shared`, a channel is used only under a lease (`channel:<address>`) no other instance
   * holds: no two instances ever send from one channel at once. A channel whose last unconfirmed
   * transaction may still land is given back with `coolDownMs` (a ledger), so the next sender
   * cannot land in the same ledger; and a channel someone else used in between has its sequence
   * number read again from the ledger.
   */
  constructor(
    keypairs: readonly Keypair[],
    private readonly rpc: SorobanRpc,
    private readonly shared?: { leases: ChannelLeases; coolDownMs: number; onError?: (err: unknown) => void },
  ) {
    if (keypairs.length === 0) throw new Error('a channel pool needs at least one channel account');
    this.idle = keypairs.map((keypair) => new Channel(keypair));
    this.addresses = keypairs.map((k) => k.publicKey());
  }

  get size(): number {
    return this.addresses.length;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * Start-up: the sequence numbers just read from the ledger (ChannelFunding.ensure), so the
   * first settlement on each channel does not read its own. A channel leased elsewhere since is
   * read again anyway (see leaseShared).
   */
  primeSequences(sequences: ReadonlyMap<string, bigint>): void {
    for (const channel of this.idle) {
      const sequence = sequences.get(channel.keypair.publicKey());
      if (sequence !== undefined && channel.sequence === undefined && channel.generation === 0) channel.sequence = sequence;
    }
  }

  /** Calls `listener` with a channel's address each time a lease on it is released (it may have paid a fee). */
  onRelease(listener: (address: string) => void): void {
    this.released.push(listener);
  }

  /** Waits (FIFO) for a free channel. Always pair with lease.release(). */
  async acquire(): Promise<ChannelLease> {
    for (;;) {
      const channel = this.idle.shift() ?? (await new Promise<Channel>((resolve) => this.waiters.push(resolve)));
      if (!this.shared || (await this.leaseShared(channel))) {
        return new ChannelLease(channel, this.rpc, (c) => this.giveBack(c, true));
      }
      // Another instance is sending from it: ask again a little later, meanwhile try the others.
      setTimeout(() => this.giveBack(channel), CHANNEL_RETRY_MS).unref();
    }
  }

  private async leaseShared(channel: Channel): Promise<boolean> {
    let taken: { taken: boolean; generation: number };
    try {
      taken = await this.shared!.leases.take(`channel:${channel.keypair.publicKey()}`);
    } catch (err) {
      this.shared!.onError?.(err);
      return false;
    }
    if (!taken.taken) return false;
    // Held by someone else since we last had it: its sequence number moved without us.
    if (taken.generation !== channel.generation + 1) channel.sequence = undefined;
    channel.generation = taken.generation;
    return true;
  }

  private giveBack(channel: Channel, fromLease = false): void {
    if (fromLease) for (const listener of this.released) listener(channel.keypair.publicKey());
    if (fromLease && this.shared) {
      const coolDownMs = channel.sequence === undefined ? this.shared.coolDownMs : 0;
      this.shared.leases.release(`channel:${channel.keypair.publicKey()}`, channel.generation, coolDownMs).catch((err: unknown) => this.shared!.onError?.(err));
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter(channel);
    else this.idle.push(channel);
  }
}

class Channel {
  /** The account's current (last used) sequence number; undefined = reload from the ledger. */
  sequence: bigint | undefined;
  /** The generation of the shared lease we last held on it (0: never). */
  generation = 0;
  constructor(readonly keypair: Keypair) {}
}

export class ChannelLease {
  private released = false;

  constructor(
    private readonly channel: Channel,
    private readonly rpc: SorobanRpc,
    private readonly onRelease: (channel: Channel) => void,
  ) {}

  get keypair(): Keypair {
    return this.channel.keypair;
  }

  get address(): string {
    return this.channel.keypair.publicKey();
  }

  /** The channel's current sequence number (the next transaction uses this + 1). */
  async currentSequence(): Promise<bigint> {
    if (this.channel.sequence === undefined) {
      const sequence = await this.rpc.accountSequence(this.address);
      if (sequence === undefined) throw new Error(`channel account ${this.address} does not exist on the ledger`);
      this.channel.sequence = sequence;
    }
    return this.channel.sequence;
  }

  /** A transaction with sequence `used` was accepted: it consumes the number whether it succeeds or fails. */
  consumed(used: bigint): void {
    this.channel.sequence = used;
  }

  /** We no longer know the sequence for sure: read it from the ledger before the next use. */
  invalidate(): void {
    this.channel.sequence = undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.channel);
  }
}
