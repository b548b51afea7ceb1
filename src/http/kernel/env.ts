/**
 * The context variables the HTTP kernel publishes for every request. Layers above extend it with
 * their own (wallet-auth adds `wallet`: see `WalletEnv`); the kernel knows none of them.
 */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by clientIp() for every request. */
    clientIp: string;
  };
}
