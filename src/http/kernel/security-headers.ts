import type { MiddlewareHandler } from 'hono';

/**
 * Hono's hardened `secureHeaders()` defaults (with our CSP and CORP) plus no caching anywhere:
 * responses may hold card data. test/unit/security-headers.test.ts checks this list against what
 * hono's own middleware sets, so a hono upgrade that changes its defaults fails the tests.
 *
 * The headers are set before the handler runs, into the context's prepared headers, so every
 * response built through the context (c.json, notFound, onError) carries them. Hono's middleware
 * sets them after the handler, on `c.res`, which makes @hono/node-server give up its lightweight
 * response and build a full fetch Response for every request (measured: ~2× the cost of GET
 * /pricing). No route sets any of these headers itself (they would win if one did).
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Cache-Control', 'no-store'],
];

export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
    await next();
  };
}
