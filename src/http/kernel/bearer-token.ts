import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { AppError } from './errors.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>` with one of `tokens` (none given: the middleware lets
 * every request through). Tokens are compared as SHA-256 digests with timingSafeEqual against every
 * configured token, so neither the length nor the position of a match shows in the timing. The token
 * is never logged nor echoed: a refusal is a plain 401 UNAUTHORIZED.
 */
export function bearerToken(opts: { tokens: readonly string[]; realm: string }): MiddlewareHandler<AppEnv> {
  const expected = opts.tokens.map(digest);
  return async function bearerTokenMiddleware(c, next) {
    if (expected.length === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    const presented = digest(match?.[1] ?? '');
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(token, presented) || ok;
    if (!match || !ok) {
      throw new AppError('UNAUTHORIZED', 'a valid bearer token is required', {
        headers: { 'WWW-Authenticate': `Bearer realm="${opts.realm}"` },
      });
    }
    return next();
  };
}
