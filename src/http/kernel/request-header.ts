import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'hono';

/**
 * A request header by name. Served by node, it is read from node's own parsed headers: asking hono
 * (`c.req.header`) makes @hono/node-server build a fetch Headers object from every raw header of
 * the request first, a cost each paid card paid twice. In-process requests (app.request) go
 * through hono. Repeated fields come back joined with ", " either way (node keeps only the first
 * of a few singleton fields, such as User-Agent).
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const headers = (c.env as { incoming?: { headers?: IncomingHttpHeaders } } | undefined)?.incoming?.headers;
  if (!headers) return c.req.header(name);
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
