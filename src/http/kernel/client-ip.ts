import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { requestHeader } from './request-header.js';

export const UNKNOWN_IP = 'unknown';

/**
 * Publishes the caller's IP as `c.get('clientIp')`: the socket's peer address, or, only when
 * `trustedProxyHops` > 0 (TRUST_PROXY), the address that many hops from the right of
 * X-Forwarded-For (each trusted proxy appends the address it saw, so entries further left are
 * whatever the client claimed and are never trusted).
 */
export function clientIp(opts: { trustedProxyHops: number }): MiddlewareHandler<AppEnv> {
  return async function clientIpMiddleware(c, next) {
    let ip = socketAddress(c);
    if (opts.trustedProxyHops > 0) {
      const hops = (requestHeader(c, 'X-Forwarded-For') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const forwarded = hops[hops.length - opts.trustedProxyHops];
      if (forwarded) ip = forwarded.slice(0, 64);
    }
    c.set('clientIp', ip);
    await next();
  };
}

function socketAddress(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const bindings = c.env as { incoming?: unknown; server?: { incoming?: unknown } } | undefined;
  if (!bindings?.incoming && !bindings?.server?.incoming) return UNKNOWN_IP; // in-process (app.request): no socket
  try {
    return getConnInfo(c).remote.address ?? UNKNOWN_IP;
  } catch {
    return UNKNOWN_IP;
  }
}
