import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { answerClientErrorsAsJson } from './client-errors.js';

/**
 * Node's HTTP server options for card402: a client gets 15 s to send its headers and 30 s for
 * the whole request (bodies are small), checked every second, instead of Node's 60 s / 5 min
 * checked every 30 s; a slow sender is answered 408 and dropped rather than holding a socket.
 */
export const HTTP_SERVER_OPTIONS = { headersTimeout: 15_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };

export type HttpServerOptions = typeof HTTP_SERVER_OPTIONS;

/**
 * card402's HTTP server around a fetch handler: our timeouts (overridable, for tests), and requests
 * Node's parser refuses answered as JSON. Resolves with the server and its port once it listens.
 */
export function serveHttp(
  fetch: (req: Request) => Response | Promise<Response>,
  opts: { port: number; hostname: string; serverOptions?: Partial<HttpServerOptions> },
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    const serverOptions = { ...HTTP_SERVER_OPTIONS, ...opts.serverOptions };
    const server = serve({ fetch, port: opts.port, hostname: opts.hostname, serverOptions }, () =>
      resolve({ server, port: (server.address() as AddressInfo).port }),
    );
    answerClientErrorsAsJson(server as Server);
    server.once('error', reject);
  });
}
