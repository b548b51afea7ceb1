import { Asset, StrKey, hash } from '@stellar/stellar-sdk';
import { NETWORK_PASSPHRASES, USDC_CONTRACTS, type StellarNetwork } from '../protocol/networks.js';

/**
 * The network a local ledger poses as, chosen when the ledger is created: what signatures commit to and
 * which USDC contract (and its classic asset) it serves. Testnet by default; pubnet lets mainnet
 * configurations be tried offline.
 */
export interface LocalnetNetwork {
  network: StellarNetwork;
  passphrase: string;
  networkId: Buffer;
  usdcIssuer: string;
  usdcAsset: Asset;
  usdcContract: string;
  usdcContractId: Buffer;
  /** SEP-11 form; it is both the SAC `name()` and the fourth topic of its transfer event. */
  usdcAssetString: string;
  nativeSacContract: string;
}

// Circle's USDC issuers; each network's USDC_CONTRACTS entry is the SAC of this asset.
const USDC_ISSUERS: Record<StellarNetwork, string> = {
  'stellar:testnet': 'GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5',
  'stellar:pubnet': 'GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN',
};

export function localnetNetwork(network: StellarNetwork): LocalnetNetwork {
  const passphrase = NETWORK_PASSPHRASES[network];
  const usdcIssuer = USDC_ISSUERS[network];
  const usdcAsset = new Asset('USDC', usdcIssuer);
  const usdcContract = USDC_CONTRACTS[network];
  if (usdcAsset.contractId(passphrase) !== usdcContract) throw new Error(`USDC issuer and contract disagree for ${network}`);
  return {
    network,
    passphrase,
    networkId: hash(Buffer.from(passphrase)),
    usdcIssuer,
    usdcAsset,
    usdcContract,
    usdcContractId: StrKey.decodeContract(usdcContract),
    usdcAssetString: `USDC:${usdcIssuer}`,
    nativeSacContract: Asset.native().contractId(passphrase),
  };
}

export const TESTNET: LocalnetNetwork = localnetNetwork('stellar:testnet');
