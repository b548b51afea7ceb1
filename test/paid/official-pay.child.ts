// Runs in a child process (NODE_EXTRA_CA_CERTS = the test's self-signed certificate, read once at
// start-up): the unmodified official x402 client (@x402/fetch + @x402/stellar's exact scheme) pays
// one GET of X402_RESOURCE_URL and prints one JSON line {status, body, settlement}.
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { createEd25519Signer } from '@x402/stellar';
import { ExactStellarScheme } from '@x402/stellar/exact/client';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`missing ${name}`);
  return v;
};

const client = new x402Client().register(
  'stellar:testnet',
  new ExactStellarScheme(createEd25519Signer(env('X402_PAYER_SECRET'), 'stellar:testnet'), { url: env('X402_RPC_URL') }),
);
const res = await wrapFetchWithPayment(fetch, client)(env('X402_RESOURCE_URL'));
const header = res.headers.get('PAYMENT-RESPONSE');
const text = await res.text();
process.stdout.write(`${JSON.stringify({ status: res.status, body: text, settlement: header ? decodePaymentResponseHeader(header) : null })}\n`);
