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

/**
 * Every hono app of the service is built with these options. `strict: false`: `/cards/` and
 * `/cards` are one route (ASG's CLI lists cards with `GET /cards/`). Only the routing path loses the
 * slash: a v2 wallet signature is checked against the path exactly as the client sent it.
 */
export const ROUTER_OPTIONS = { strict: false } as const;
