import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** Hono's hardened defaults plus no caching anywhere: responses may hold card data. */
export function securityHeaders(): MiddlewareHandler {
  const secure = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    crossOriginResourcePolicy: 'same-origin',
  });
  return async function securityHeadersMiddleware(c, next) {
    await secure(c, async () => {
      await next();
      c.header('Cache-Control', 'no-store');
    });
  };
}
