// Runs in a child process started by x402-client.test.ts with NODE_EXTRA_CA_CERTS pointing at the test's
// self-signed certificate: that is how this process, and only this one, trusts the localnet's HTTPS.
// It drives the unmodified official x402 Stellar client (and the official facilitator's verify) and prints
// the result as one JSON line on stdout.
import { createEd25519Signer } from '@x402/stellar';
import { ExactStellarScheme as ExactStellarClient } from '@x402/stellar/exact/client';
import { ExactStellarScheme as ExactStellarFacilitator } from '@x402/stellar/exact/facilitator';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`missing ${name}`);
  return v;
};

const rpcUrl = env('X402_RPC_URL');
const requirements = {
  scheme: 'exact',
  network: 'stellar:testnet',
  amount: env('X402_AMOUNT'),
  asset: env('X402_ASSET'),
  payTo: env('X402_PAY_TO'),
  maxTimeoutSeconds: 60,
  extra: { areFeesSponsored: true },
} as const;

const client = new ExactStellarClient(createEd25519Signer(env('X402_PAYER_SECRET'), 'stellar:testnet'), { url: rpcUrl });
const created = await client.createPaymentPayload(2, requirements);
const facilitator = new ExactStellarFacilitator([createEd25519Signer(env('X402_FACILITATOR_SECRET'), 'stellar:testnet')], { rpcConfig: { url: rpcUrl } });
const verify = await facilitator.verify({ x402Version: 2, accepted: requirements, payload: created.payload, resource: { url: 'https://card402.test/cards', description: 'test', mimeType: 'application/json' } } as never, requirements as never);
process.stdout.write(`${JSON.stringify({ payload: created.payload, verify })}\n`);
