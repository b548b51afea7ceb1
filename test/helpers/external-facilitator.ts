import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Keypair } from '@stellar/stellar-sdk';
import { systemClock } from '../../src/clock.js';
import { HttpFacilitator } from '../../src/facilitator/http.js';
import { LocalFacilitator } from '../../src/facilitator/local.js';
import { createFacilitatorApp } from '../../src/facilitator/server.js';
import { LOCALNET_PASSPHRASE, type Localnet } from '../../src/localnet/index.js';
import { createMemoryLogger } from '../../src/logger.js';
import { ChannelPool } from '../../src/stellar/channels.js';
import { SorobanRpc, type FetchLike } from '../../src/stellar/rpc.js';

/** What the wire does to a /settle call: pass it, lose the request, lose the answer, or answer with a claim. */
export type SettleMode = { kind: 'forward' } | { kind: 'drop_request' } | { kind: 'drop_answer' } | { kind: 'claim'; txHash: string };

export interface ExternalFacilitator {
  /** card402's client for it (standard /verify, /settle, /supported over HTTP). */
  client: HttpFacilitator;
  url: string;
  /** The one channel account it settles with. */
  channel: Keypair;
  /** How many /settle calls card402 made. */
  settleCalls(): number;
  close(): Promise<void>;
}

/**
 * A separate facilitator service with its own channel account: our LocalFacilitator served over the
 * standard HTTP API, reached only over HTTP, with `mode()` deciding what happens to each /settle on
 * the wire between card402 and it.
 */
export async function startExternalFacilitator(ctx: { rpcUrl: string; localnet: Localnet }, mode: () => SettleMode = () => ({ kind: 'forward' })): Promise<ExternalFacilitator> {
  const channel = Keypair.random();
  ctx.localnet.fundXlm(channel.publicKey());
  const rpc = new SorobanRpc(ctx.rpcUrl);
  const local = new LocalFacilitator({
    rpc,
    channels: new ChannelPool([channel], rpc),
    networkPassphrase: LOCALNET_PASSPHRASE,
    ledgerSeconds: 1,
    maxFeeStroops: 1_000_000n,
    pollTimeoutMs: 5_000,
    pollIntervalMs: 20,
    clock: systemClock,
    logger: createMemoryLogger(),
  });
  const app = createFacilitatorApp(local, { network: 'stellar:testnet' });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let settleCalls = 0;
  const wire: FetchLike = async (input, init) => {
    if (!input.endsWith('/settle')) return fetch(input, init);
    settleCalls += 1;
    const m = mode();
    if (m.kind === 'drop_request') throw new TypeError('fetch failed');
    if (m.kind === 'claim') return Response.json({ success: true, transaction: m.txHash, network: 'stellar:testnet' });
    const answer = await fetch(input, init);
    if (m.kind === 'drop_answer') throw new TypeError('fetch failed');
    return answer;
  };
  return {
    client: new HttpFacilitator(url, { fetch: wire }),
    url,
    channel,
    settleCalls: () => settleCalls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
