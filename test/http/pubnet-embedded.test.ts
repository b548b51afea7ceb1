import { Networks, rpc } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { readPaymentRequired } from '../../src/client/x402-payer.js';
import { decodeJsonHeader } from '../../src/protocol/x402-codec.js';
import { payAndFetch } from '../helpers/pay-and-fetch.js';
import { bootServer } from '../helpers/server.js';

const MAINNET_USDC = 'CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75';

describe('STELLAR_NETWORK=stellar:pubnet without an RPC URL', () => {
  it('boots an embedded ledger posing as pubnet and sells a card paid in mainnet USDC signed for the mainnet passphrase', async () => {
    const booted = await bootServer({ STELLAR_NETWORK: 'stellar:pubnet' });
    try {
      expect((await new rpc.Server(booted.rpcUrl, { allowHttp: true }).getNetwork()).passphrase).toBe(Networks.PUBLIC);
      const agent = await booted.fundedWallet('500');
      const url = `${booted.apiUrl}/cards/create/tier/100`;
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nameOnCard: 'Ada Agent', email: 'ada@example.com' }) };

      const offer = await readPaymentRequired(await fetch(url, init));
      expect(offer.accepts[0]).toMatchObject({ network: 'stellar:pubnet', asset: MAINNET_USDC });

      // Signed for testnet, the same payment cannot settle on a pubnet ledger.
      const wrong = await payAndFetch(fetch, url, init, { keypair: agent, networkPassphrase: Networks.TESTNET, rpc: booted.rpcUrl, ledgerSeconds: 1 });
      expect(wrong.response.status).toBe(402);
      expect(JSON.stringify(await wrong.response.json())).toMatch(/sign/i);

      const { response } = await payAndFetch(fetch, url, init, { keypair: agent, networkPassphrase: Networks.PUBLIC, rpc: booted.rpcUrl, ledgerSeconds: 1 });
      const body = (await response.json()) as { card: { status: string }; payment: { network: string; txHash: string } };
      expect(response.status, JSON.stringify(body)).toBe(201);
      expect(body.card.status).toBe('active');
      expect(body.payment.network).toBe('stellar:pubnet');
      expect(decodeJsonHeader<Record<string, unknown>>(response.headers.get('PAYMENT-RESPONSE')!)).toMatchObject({ success: true, network: 'stellar:pubnet', transaction: body.payment.txHash });
    } finally {
      await booted.close();
    }
  });
});
