import type { Keypair } from '@stellar/stellar-sdk';
import { walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { createExactPayment, encodePayment, readPaymentRequired } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { parseApprovalUrl } from '../../src/protocol/payment-requests.js';
import type { PaymentPayload } from '../../src/protocol/x402.js';
import { bodyOf } from './http.js';
import type { PaidHarness } from './paid.js';

/** POST /payment-requests signed by `agent` (v2), over real HTTP. */
export async function ask(h: PaidHarness, agent: Keypair, body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = walletAuthHeadersV2(agent, { method: 'POST', url: '/payment-requests', body: text });
  return fetch(`${h.baseUrl}/payment-requests`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
}

/** A new pending request for a $25 card (price $35.88), or with `body` overrides; its id and token. */
export async function askForCard(h: PaidHarness, agent: Keypair, body: Record<string, unknown> = {}): Promise<{ id: string; token: string; approvalUrl: string; created: any }> {
  const response = await ask(h, agent, { kind: 'create', amount: '25', nameOnCard: 'Ada Agent', email: 'ada@example.com', ...body });
  const created = await bodyOf(response);
  if (response.status !== 201) throw new Error(`payment request refused: ${response.status} ${JSON.stringify(created)}`);
  const parts = parseApprovalUrl(created.approvalUrl)!;
  return { id: parts.id, token: parts.token, approvalUrl: created.approvalUrl, created };
}

/** GET /payment-requests/:id signed by `agent`. */
export async function poll(h: PaidHarness, agent: Keypair, id: string): Promise<Response> {
  const route = `/payment-requests/${id}`;
  return fetch(h.baseUrl + route, { headers: walletAuthHeadersV2(agent, { method: 'GET', url: route }) });
}

/** POST /payment-requests/:id/approval with `{action, token}` and, optionally, a payment. */
export async function answer(h: PaidHarness, id: string, action: 'approve' | 'reject', token: string, payment?: PaymentPayload): Promise<Response> {
  return fetch(`${h.baseUrl}/payment-requests/${id}/approval`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(payment ? { 'PAYMENT-SIGNATURE': encodePayment(payment) } : {}) },
    body: JSON.stringify({ action, token }),
  });
}

/** What the owner signs for the request (after its 402), without sending it. */
export async function ownerPayment(h: PaidHarness, owner: Keypair, id: string, token: string): Promise<PaymentPayload> {
  const challenge = await answer(h, id, 'approve', token);
  if (challenge.status !== 402) throw new Error(`expected a 402, got ${challenge.status} ${await challenge.text()}`);
  return createExactPayment(await readPaymentRequired(challenge), {
    keypair: owner,
    networkPassphrase: LOCALNET_PASSPHRASE,
    rpc: h.ledgerServer.rpcUrl,
    ledgerSeconds: h.config.x402.ledgerSeconds,
  });
}
