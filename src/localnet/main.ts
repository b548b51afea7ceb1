import { readFileSync } from 'node:fs';
import { loadLocalnetEnv, type LocalnetEnv } from './config.js';
import { createLocalnet, localnetNetwork, serveLocalnet } from './index.js';

// Standalone entry: `npm run localnet`.
async function main(): Promise<void> {
  let env: LocalnetEnv;
  try {
    env = loadLocalnetEnv(process.env);
  } catch (err) {
    console.error(`localnet: invalid configuration: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  const log = (event: string, fields?: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));
  const localnet = createLocalnet({ network: localnetNetwork(env.LOCALNET_NETWORK ?? 'stellar:testnet'), ledgerMs: env.LOCALNET_LEDGER_MS, log, ...(env.LOCALNET_STATE ? { statePath: env.LOCALNET_STATE } : {}) });
  const tls =
    env.LOCALNET_TLS_CERT && env.LOCALNET_TLS_KEY
      ? { cert: readFileSync(env.LOCALNET_TLS_CERT), key: readFileSync(env.LOCALNET_TLS_KEY), port: env.LOCALNET_TLS_PORT }
      : undefined;
  const server = await serveLocalnet(localnet, { port: env.LOCALNET_PORT, host: env.LOCALNET_HOST, ...(tls ? { tls } : {}) });
  localnet.start();
  console.log(`localnet: ${localnet.network.passphrase} | USDC SAC ${localnet.network.usdcContract}`);
  console.log(`localnet: RPC      ${server.rpcUrl}`);
  console.log(`localnet: friendbot ${server.url}/friendbot?addr=G...  (add &asset=USDC&amount=100 to mint USDC)`);
  if (server.httpsRpcUrl) console.log(`localnet: RPC (TLS) ${server.httpsRpcUrl}`);
  console.log(`localnet: ledgers close ${env.LOCALNET_LEDGER_MS === 'manual' ? 'manually' : `every ${env.LOCALNET_LEDGER_MS} ms`}${env.LOCALNET_STATE ? `, state in ${env.LOCALNET_STATE}` : ''}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('localnet_stopping', { signal });
    await server.close();
    await localnet.stop();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`localnet: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
