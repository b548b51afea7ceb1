import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { AppEnv } from './env.js';

/**
 * One line per request. Only method, path (without query), status, duration and request id are
 * logged: headers and bodies never are, so payment headers and signatures cannot leak here.
 */
export function accessLog(logger: Logger, clock: Clock): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    const startedMs = clock.nowMs();
    await next();
    logger.info('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: clock.nowMs() - startedMs,
    });
  };
}
