// Runs in a child process started by official-client.test.ts with NODE_EXTRA_CA_CERTS pointing at the
// test's self-signed certificate (read once at start-up: only this process trusts it). It drives the
// unmodified official x402 client — @x402/fetch wrapFetchWithPayment + @x402/stellar's exact scheme —
// against card402 over HTTP, with the ledger's RPC over HTTPS, and prints one JSON line.
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { createEd25519Signer } from '@x402/stellar';
import { ExactStellarScheme } from '@x402/stellar/exact/client';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`missing ${name}`);
  return v;
};

const baseUrl = env('CARD402_URL');
const client = new x402Client().register(
  'stellar:testnet',
  new ExactStellarScheme(createEd25519Signer(env('X402_PAYER_SECRET'), 'stellar:testnet'), { url: env('X402_RPC_URL') }),
);
const pay = wrapFetchWithPayment(fetch, client);

async function call(path: string, body: unknown) {
  const res = await pay(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const header = res.headers.get('PAYMENT-RESPONSE');
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, settlement: header ? decodePaymentResponseHeader(header) : null };
}

const created = await call('/cards/create/tier/100', { nameOnCard: 'Official Client', email: 'official@example.com' });
const cardId = (created.body.card as { cardId?: string } | undefined)?.cardId;
const funded = cardId ? await call('/cards/fund/tier/50', { cardId }) : null;
process.stdout.write(`${JSON.stringify({ created, funded })}\n`);
