import type { Keypair } from '@stellar/stellar-sdk';
import type { SorobanRpc } from './rpc.js';

/**
 * A pool of channel accounts that submit settlements. Each channel carries at most one in-flight
 * transaction (the network allows one per source account per ledger anyway), and its sequence
 * number is tracked locally: loaded from the ledger on first use, advanced when a transaction
 * consumes it, and reloaded whenever we are unsure (bad seq, a send or poll we could not confirm).
 */
export class ChannelPool {
  private readonly idle: Channel[];
  private readonly waiters: Array<(channel: Channel) => void> = [];
  readonly addresses: readonly string[];

  constructor(
    keypairs: readonly Keypair[],
    private readonly rpc: SorobanRpc,
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

  /** Waits (FIFO) for a free channel. Always pair with lease.release(). */
  async acquire(): Promise<ChannelLease> {
    const channel = this.idle.shift() ?? (await new Promise<Channel>((resolve) => this.waiters.push(resolve)));
    return new ChannelLease(channel, this.rpc, (c) => this.giveBack(c));
  }

  private giveBack(channel: Channel): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(channel);
    else this.idle.push(channel);
  }
}

class Channel {
  /** The account's current (last used) sequence number; undefined = reload from the ledger. */
  sequence: bigint | undefined;
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
