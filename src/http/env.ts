import type { WalletIdentity } from '../wallet-auth/identity.js';

/** Typed context variables that middleware publishes for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by clientIp() for every request. */
    clientIp: string;
    /** Set by walletAuth() on wallet-signed routes only. */
    wallet: WalletIdentity | undefined;
  };
}
