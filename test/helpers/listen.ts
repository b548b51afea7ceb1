import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { onTestFinished } from 'vitest';

/**
 * Serves an in-process app over real HTTP on a free loopback port for the current test, and closes
 * it when the test finishes. Returns the base URL.
 */
export async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }): Promise<string> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
