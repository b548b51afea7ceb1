import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { answerClientErrorsAsJson } from './client-errors.js';
import { AppError, errorBody } from './errors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/**
 * Node's HTTP server options for card402: a client gets 15 s to send its headers and 30 s for
 * the whole request (bodies are small), checked every second, instead of Node's 60 s / 5 min
 * checked every 30 s; a slow sender is answered 408 and dropped rather than holding a socket.
 */
export const HTTP_SERVER_OPTIONS = { headersTimeout: 15_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

export type HttpServerOptions = typeof HTTP_SERVER_OPTIONS;

/** How long a refused request is told to wait before trying again (another instance, behind a balancer). */
export const DRAINING_RETRY_AFTER_SECONDS = 1;

export interface ServedHttp {
  server: ServerType;
  port: number;
  /**
   * Graceful shutdown: stops listening, answers any request that still arrives on an open
   * connection 503 SERVICE_UNAVAILABLE (`Connection: close`, so the balancer retries elsewhere),
   * closes each connection once its request in flight is answered, and resolves when none is
   * left or after `graceMs`, when the remaining ones are cut. True when everything finished in time.
   */
  drain(graceMs: number): Promise<boolean>;
}

/**
 * card402's HTTP server around a fetch handler: our timeouts (overridable, for tests), and requests
 * Node's parser refuses answered as JSON. Resolves with the server and its port once it listens.
 */
export function serveHttp(
  fetch: (req: Request, env?: unknown) => Response | Promise<Response>,
  opts: { port: number; hostname: string; serverOptions?: Partial<HttpServerOptions> },
): Promise<ServedHttp> {
  let draining = false;
  const answering = new Set<ServerResponse>();
  // The node bindings (incoming, outgoing) go through: the app reads them (an aborted request is not an error).
  const gated = (req: Request, env?: unknown): Response | Promise<Response> => (draining ? drainingResponse() : fetch(req, env));
  return new Promise((resolve, reject) => {
    const serverOptions = { ...HTTP_SERVER_OPTIONS, ...opts.serverOptions };
    const server = serve({ fetch: gated, port: opts.port, hostname: opts.hostname, serverOptions }, () =>
      resolve({ server, port: (server.address() as AddressInfo).port, drain }),
    );
    const node = server as Server;
    answerClientErrorsAsJson(node);
    // Requests being answered, so a drain can tell their connections not to stay open afterwards.
    node.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (draining) res.shouldKeepAlive = false;
      answering.add(res);
      res.once('close', () => answering.delete(res));
    });
    server.once('error', reject);

    function drain(graceMs: number): Promise<boolean> {
      draining = true;
      for (const res of answering) res.shouldKeepAlive = false;
      return new Promise((done) => {
        const timer = setTimeout(() => {
          node.closeAllConnections();
          done(false);
        }, graceMs);
        node.close(() => {
          clearTimeout(timer);
          done(true);
        });
        node.closeIdleConnections();
      });
    }
  });
}

function drainingResponse(): Response {
  const error = new AppError('SERVICE_UNAVAILABLE', 'this instance is shutting down; retry');
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: [['content-type', 'application/json'], ['connection', 'close'], ['retry-after', String(DRAINING_RETRY_AFTER_SECONDS)], ...SECURITY_HEADERS.map(([n, v]) => [n, v] as [string, string])],
  });
}
