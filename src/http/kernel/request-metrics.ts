import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from '../../metrics/index.js';
import type { AppEnv } from './env.js';

/** The label for requests no route answered (404s, 405s): paths a client chose never become labels. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts every request and its latency by method, route template (`/cards/:cardId`, never the card
 * id itself) and status. Runs outermost but one (after the request id), so errors mapped by
 * `app.onError` are counted with the status the client got.
 */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      // After next(), routeIndex is the handler that answered; a wildcard there is a middleware (no route).
      const path = routePath(c);
      const route = path === '' || path.includes('*') ? UNMATCHED_ROUTE : path;
      const method = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(c.req.method) ? c.req.method : 'OTHER';
      metrics.httpRequest(method, route, c.res.status, (performance.now() - started) / 1000);
    }
  };
}
