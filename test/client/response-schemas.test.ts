import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { Card402Client } from '../../src/client/card402-client.js';
import { Card402Error } from '../../src/client/errors.js';

/** A server that answers every request with `body` (200, JSON): what a broken or hostile server could send. */
function clientAnswering(body: unknown): Card402Client {
  return new Card402Client({
    baseUrl: 'http://card402.invalid',
    signer: Keypair.random(),
    fetch: async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }),
  });
}

describe('the SDK reads answers with the API schemas of src/protocol', () => {
  it('returns a matching body, typed, without fields the API does not define', async () => {
    const balance = await clientAnswering({ cardId: 'c1', balance: 5, balanceCents: 500, held: 0, heldCents: 0, currency: 'USD', source: 'local', injected: '<script>' }).balance('c1');
    expect(balance).toEqual({ cardId: 'c1', balance: 5, balanceCents: 500, held: 0, heldCents: 0, currency: 'USD', source: 'local' });
  });

  it.each([
    ['a dollar amount as text', { cardId: 'c1', balance: '5', balanceCents: 500, held: 0, heldCents: 0, currency: 'USD', source: 'local' }],
    ['a missing field', { cardId: 'c1', balance: 5, currency: 'USD', source: 'local' }],
    ['no object at all', 'ok'],
  ])('refuses %s with a Card402Error naming the request', async (_name, body) => {
    const answer = clientAnswering(body).balance('c1');
    await expect(answer).rejects.toBeInstanceOf(Card402Error);
    await expect(answer).rejects.toThrow(/GET \/cards\/c1\/balance: the server's answer does not match the card402 API/);
  });
});
