import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { AppError } from '../errors.js';

export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const limit = honoBodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError('PAYLOAD_TOO_LARGE', `request body is larger than ${maxBytes} bytes`);
    },
  });
  return async function bodyLimitMiddleware(c, next) {
    // Served by node over HTTP/1.x, a request with neither Content-Length nor Transfer-Encoding has
    // no body (RFC 9112 §6.3; Node's parser reads none), so there is nothing to limit. Skipping
    // hono's check there matters: it reads `c.req.raw.body`, which makes @hono/node-server build
    // a full fetch Request (and an AbortController) for every bodiless GET. Everything else,
    // including in-process app.request() calls, goes through hono's check unchanged.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming && incoming.httpVersionMajor === 1) {
      const headers = incoming.headers;
      if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return next();
    }
    return limit(c, next);
  };
}
