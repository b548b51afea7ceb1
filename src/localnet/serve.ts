import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

export interface LocalnetServer {
  url: string;
  rpcUrl: string;
  httpsUrl?: string;
  httpsRpcUrl?: string;
  close(): Promise<void>;
}

type NodeServer = ReturnType<typeof createAdaptorServer>;

/** What is served: a Localnet's fetch (its JSON-RPC and friendbot app). */
export interface ServedLedger {
  fetch(request: Request): Promise<Response>;
}

function listen(server: NodeServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function shutdown(server: NodeServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets from RPC clients would otherwise hold close() open indefinitely.
    if ('closeAllConnections' in server) server.closeAllConnections();
  });
}

/** Serves the same ledger over HTTP, and over HTTPS when given a certificate (port 0 picks a free port). */
export async function serveLocalnet(
  localnet: ServedLedger,
  opts: { port: number; host?: string; tls?: { cert: string | Buffer; key: string | Buffer; port: number } },
): Promise<LocalnetServer> {
  const host = opts.host ?? '127.0.0.1';
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const fetch = (req: Request) => localnet.fetch(req);
  const servers: NodeServer[] = [];
  try {
    const http = createAdaptorServer({ fetch });
    servers.push(http);
    const port = await listen(http, opts.port, host);
    const url = `http://${shown}:${port}`;
    const out: LocalnetServer = { url, rpcUrl: `${url}/soroban/rpc`, close: async () => void (await Promise.all(servers.map(shutdown))) };
    if (opts.tls) {
      const https = createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } });
      servers.push(https);
      const tlsPort = await listen(https, opts.tls.port, host);
      out.httpsUrl = `https://${shown}:${tlsPort}`;
      out.httpsRpcUrl = `${out.httpsUrl}/soroban/rpc`;
    }
    return out;
  } catch (err) {
    await Promise.all(servers.filter((s) => s.listening).map(shutdown));
    throw err;
  }
}
