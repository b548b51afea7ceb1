import type { AuthVersion, SigningMode } from '../protocol/wallet-auth.js';

/** What a handler learns about the caller: published as `c.get('wallet')`. */
export interface WalletIdentity {
  address: string;
  version: AuthVersion;
  mode: SigningMode;
  timestamp: number;
  /** True when this signature (v1) or nonce (v2) has been spent and cannot be used again. */
  singleUse: boolean;
}
