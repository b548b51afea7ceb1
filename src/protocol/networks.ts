import { Networks } from '@stellar/stellar-sdk';

/** The Stellar networks card402 and its SDK speak (CAIP-2 names, as x402 writes them). */
export const NETWORKS = ['stellar:testnet', 'stellar:pubnet'] as const;
export type StellarNetwork = (typeof NETWORKS)[number];

/** Network passphrases (what transaction and auth-entry signatures commit to). */
export const NETWORK_PASSPHRASES: Record<StellarNetwork, string> = {
  'stellar:testnet': Networks.TESTNET,
  'stellar:pubnet': Networks.PUBLIC,
};

/** Circle's USDC Stellar Asset Contracts; the testnet one is also what the local ledger serves. */
export const USDC_CONTRACTS: Record<StellarNetwork, string> = {
  'stellar:testnet': 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA',
  'stellar:pubnet': 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75',
};
