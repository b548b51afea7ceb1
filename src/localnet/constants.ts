import type { StellarNetwork } from '../protocol/networks.js';
import { TESTNET } from './network.js';

// The official x402 Stellar packages only know testnet and pubnet, so the local ledger poses as one of them:
// testnet unless created with another LocalnetNetwork (network.ts). These are the testnet default's values.
export const LOCALNET_NETWORK: StellarNetwork = TESTNET.network;
export const LOCALNET_PASSPHRASE = TESTNET.passphrase;
export const LOCALNET_NETWORK_ID: Buffer = TESTNET.networkId;
export const LOCALNET_USDC_ISSUER = TESTNET.usdcIssuer;
export const USDC_ASSET = TESTNET.usdcAsset;
export const LOCALNET_USDC_CONTRACT = TESTNET.usdcContract;
export const USDC_ASSET_STRING = TESTNET.usdcAssetString;
export const USDC_DECIMALS = 7;
export const NATIVE_SAC_CONTRACT = TESTNET.nativeSacContract;

// Protocol 23 is the first with TransactionMetaV4 and the CAP-67 event layout we emit.
export const PROTOCOL_VERSION = 23;

export const STROOPS_PER_XLM = 10_000_000n;
export const FRIENDBOT_STROOPS = 10_000n * STROOPS_PER_XLM;
export const BASE_RESERVE_STROOPS = 5_000_000n;
// Minimum inclusion fee per operation when the network is not surge pricing.
export const BASE_FEE_STROOPS = 100n;
export const INT64_MAX = (1n << 63n) - 1n;
export const MAX_SIGNATURES = 20;
// Temporary entries (auth nonces) cannot live longer than this; an auth expiration beyond it is invalid.
export const MAX_ENTRY_TTL_LEDGERS = 3_110_400;
// A new temporary entry (an allowance) lives at least this many ledgers, counting the current one.
export const MIN_TEMPORARY_TTL_LEDGERS = 16;
// Persistent entries written by the SAC get this TTL on creation (testnet's minimum persistent TTL).
export const MIN_PERSISTENT_TTL_LEDGERS = 2_073_600;
export const DEFAULT_LEDGER_MS = 5000;
export const GENESIS_LEDGER = 2;

/** How long transactions stay answerable by getTransaction: soroban-rpc's default window, 7 days. */
export const HISTORY_RETENTION_SECONDS = 7 * 24 * 3600;
/** The same window in ledgers of the default length, as getHealth reports it (120,960). */
export const HISTORY_RETENTION_LEDGERS = (HISTORY_RETENTION_SECONDS * 1000) / DEFAULT_LEDGER_MS;
