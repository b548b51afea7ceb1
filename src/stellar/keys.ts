import { createHmac } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { loadOrCreateKeyFile } from '../secrets/key-files.js';

/** The accounts card402 signs with. Channels and fee payer are the facilitator; the treasury is payTo. */
export interface StellarKeys {
  treasury: Keypair;
  channels: Keypair[];
  feePayer?: Keypair | undefined;
  /** The mandate account (issue 17): spender of owners' allowances; absent, mandates are not served. */
  mandate?: Keypair | undefined;
  /** Creates and tops up the channel accounts (CHANNEL_FUNDING_SECRET); absent: the treasury does. */
  funding?: Keypair | undefined;
}

/**
 * Channel `index` (1-based) derived from CHANNEL_SEED: its ed25519 seed is
 * HMAC-SHA256(seed, "card402 channel <index>"). Every instance given the same seed and count has
 * the same channels, without listing hundreds of secrets.
 */
export function deriveChannelKeypair(seed: Buffer, index: number): Keypair {
  return Keypair.fromRawEd25519Seed(createHmac('sha256', seed).update(`card402 channel ${index}`).digest());
}

/** Funding on the local ledger: 10,000 XLM per generated account. */
export const LOCAL_FUNDING_STROOPS = 10_000n * 10_000_000n;

/** What prepareLocalKeys needs of the local ledger (src/localnet's Localnet satisfies it). */
export interface FundingLedger {
  fundXlm(address: string, stroops?: bigint): void;
  mintUsdc(address: string, atomic: bigint): void;
  xlmBalance(address: string): bigint;
}

/**
 * Keys from configuration (TREASURY_SECRET, CHANNEL_SECRETS, FEE_PAYER_SECRET), and for what is
 * not configured, keys generated once into DATA_DIR/keys with mode 0600. Every generated key is
 * announced (address and file, never the secret) in the start-up log.
 */
export function loadStellarKeys(config: Config, logger: Logger): StellarKeys & { generated: string[] } {
  const generated: string[] = [];
  const fromFile = (name: string): Keypair => {
    const { keypair, created, file } = loadOrCreateKeyFile(config.dataDir, name);
    if (created) {
      generated.push(keypair.publicKey());
      logger.info('generated Stellar key', { role: name, address: keypair.publicKey(), file });
    }
    return keypair;
  };
  const treasury = config.stellar.treasurySecret ? Keypair.fromSecret(config.stellar.treasurySecret) : fromFile('treasury');
  const { channelSecrets, channelSeed, channelCount } = config.settlement;
  const channels = channelSecrets
    ? channelSecrets.map((s) => Keypair.fromSecret(s))
    : channelSeed
      ? Array.from({ length: channelCount }, (_, i) => deriveChannelKeypair(channelSeed, i + 1))
      : Array.from({ length: channelCount }, (_, i) => fromFile(`channel-${i + 1}`));
  const feePayer = config.settlement.feePayerSecret ? Keypair.fromSecret(config.settlement.feePayerSecret) : undefined;
  const mandate = config.mandates.accountSecret ? Keypair.fromSecret(config.mandates.accountSecret) : fromFile('mandate');
  const funding = config.settlement.channelFundingSecret ? Keypair.fromSecret(config.settlement.channelFundingSecret) : undefined;
  const all = [treasury, ...channels, ...(feePayer ? [feePayer] : []), mandate, ...(funding ? [funding] : [])].map((k) => k.publicKey());
  if (new Set(all).size !== all.length) throw new Error('treasury, channel, fee-payer, mandate and channel funding accounts must all be different');
  return { treasury, channels, feePayer, mandate, funding, generated };
}

/**
 * For the embedded local ledger: loads or generates the keys, then funds every account that has
 * no XLM yet (and opens the treasury's USDC trustline so it can receive payments).
 */
export function prepareLocalKeys(
  config: Config,
  ledger: FundingLedger,
  logger: Logger,
  opts: { channels: 'fund' | 'leave' } = { channels: 'fund' },
): StellarKeys {
  const keys = loadStellarKeys(config, logger);
  // With `leave`, the channels are created over the RPC from the funding account (ChannelFunding), as on a real network.
  const channels = opts.channels === 'fund' ? keys.channels : [];
  const accounts = [keys.treasury, ...channels, ...(keys.feePayer ? [keys.feePayer] : []), ...(keys.mandate ? [keys.mandate] : []), ...(keys.funding ? [keys.funding] : [])];
  for (const keypair of accounts) {
    if (ledger.xlmBalance(keypair.publicKey()) === 0n) {
      ledger.fundXlm(keypair.publicKey(), LOCAL_FUNDING_STROOPS);
      logger.info('funded account on the local ledger', { address: keypair.publicKey() });
    }
  }
  if (opts.channels === 'leave') {
    // Enough XLM to create every channel and top each up a few times.
    const funder = (keys.funding ?? keys.treasury).publicKey();
    const needed = BigInt(keys.channels.length) * config.settlement.channelTopUpStroops * 4n;
    const balance = ledger.xlmBalance(funder);
    if (balance < needed) ledger.fundXlm(funder, needed - balance);
  }
  ledger.mintUsdc(keys.treasury.publicKey(), 0n);
  logger.info('settlement accounts ready', {
    treasury: keys.treasury.publicKey(),
    channels: keys.channels.length,
    feePayer: keys.feePayer?.publicKey() ?? null,
  });
  return { treasury: keys.treasury, channels: keys.channels, feePayer: keys.feePayer, mandate: keys.mandate, funding: keys.funding };
}
