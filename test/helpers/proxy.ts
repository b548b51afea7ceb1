import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Context, Hono } from 'hono';

/** Sends the incoming request on to `target` unchanged and returns the upstream response. */
export async function forward(c: Context, target: string): Promise<Response> {
  const url = new URL(c.req.url);
  const init: RequestInit = { method: c.req.method, headers: c.req.raw.headers };
  if (!['GET', 'HEAD'].includes(c.req.method)) init.body = await c.req.arrayBuffer();
  return fetch(target + url.pathname + url.search, init);
}

/** The upstream response as one this server can send (length recomputed). */
export function relay(upstream: Response, body: ConstructorParameters<typeof Response>[0] = upstream.body, headers = new Headers(upstream.headers)): Response {
  headers.delete('content-length');
  return new Response(body, { status: upstream.status, headers });
}

/** Serves a test proxy app on a free loopback port. */
export async function listenProxy(app: Hono): Promise<{ url: string; close(): Promise<void> }> {
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections(): void }).closeAllConnections();
      }),
  };
}
