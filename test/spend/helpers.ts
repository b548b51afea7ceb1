import type { Keypair } from '@stellar/stellar-sdk';
import type { AppDeps } from '../../src/app.js';
import type { SandboxAuthorizationRequest } from '../../src/protocol/spending.js';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bodyOf } from '../helpers/http.js';
import { signedRequest, type SeededCard } from '../helpers/wallet.js';

/** A test app with the sandbox card network served. */
export function makeSpendApp(overrides: Partial<AppDeps> & { env?: Record<string, string> } = {}): Promise<TestApp> {
  return makeTestApp({ sandboxCardNetwork: true, ...overrides });
}

export const ACME = { name: 'Acme Software', mcc: '5734', country: 'US' };

/** The body a merchant sends for this card (its real data), with the given amount. */
export function chargeBody(card: SeededCard, amount: string | number, extra: Partial<SandboxAuthorizationRequest> = {}): SandboxAuthorizationRequest {
  const d = card.details;
  return { cardNumber: d.cardNumber, expiryMonth: d.expiryMonth, expiryYear: d.expiryYear, cvv: d.cvv, amount, currency: 'USD', merchant: ACME, ...extra };
}

export async function post(t: TestApp, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await bodyOf(res), headers: res.headers };
}

export async function charge(t: TestApp, card: SeededCard, amount: string | number, extra: Partial<SandboxAuthorizationRequest> = {}) {
  return post(t, '/sandbox/authorizations', chargeBody(card, amount, extra));
}

export async function signed(t: TestApp, kp: Keypair, method: string, path: string, body?: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const res = await signedRequest(t, kp, method, path, { ...(text === undefined ? {} : { body: text, headers: { 'content-type': 'application/json' } }) });
  return { status: res.status, body: await bodyOf(res) };
}

export async function funds(t: TestApp, kp: Keypair, cardId: string): Promise<{ balanceCents: number; heldCents: number }> {
  const r = await signed(t, kp, 'GET', `/cards/${cardId}/balance`);
  return { balanceCents: r.body.balanceCents, heldCents: r.body.heldCents };
}
