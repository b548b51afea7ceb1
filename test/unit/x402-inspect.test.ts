import { Keypair } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createExactPayment } from '../../src/client/x402-payer.js';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { buildPaymentRequired, buildRequirements } from '../../src/x402/challenge.js';
import { inspectPayment, VERIFY_REASONS } from '../../src/x402/verify.js';

const payTo = Keypair.random().publicKey();
const requirements = buildRequirements({ network: 'stellar:testnet', asset: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA', payTo, maxTimeoutSeconds: 60 }, 1_000n);
const required = buildPaymentRequired({ resourceUrl: 'https://card402.test/x', description: 'x', requirements, error: 'payment required' });
const ctx = { networkPassphrase: LOCALNET_PASSPHRASE, facilitatorAddresses: new Set<string>(), maxFeeStroops: 1_000_000n };
const payer = Keypair.random();
const offline = { keypair: payer, networkPassphrase: LOCALNET_PASSPHRASE, rpc: 'http://127.0.0.1:9/unused' };

describe('inspectPayment (local checks, no ledger)', () => {
  it('accepts a locally signed payment and reports payer, nonce, expiry and amount', async () => {
    const payment = await createExactPayment(required, offline, { skipSimulation: true, expirationLedger: 77 });
    const result = inspectPayment(payment, requirements, ctx);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ payer: payer.publicKey(), expirationLedger: 77, amount: 1_000n });
    expect(typeof result.value.nonce).toBe('bigint');
  });

  it('binds the signature to the network: a payment signed for another passphrase is invalid', async () => {
    const payment = await createExactPayment(required, { ...offline, networkPassphrase: 'Public Global Stellar Network ; September 2015' }, { skipSimulation: true, expirationLedger: 77 });
    expect(inspectPayment(payment, requirements, ctx)).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  it('never throws and always answers a known reason, whatever the transaction bytes', async () => {
    const valid = await createExactPayment(required, offline, { skipSimulation: true, expirationLedger: 77 });
    const bytes = Buffer.from(valid.payload.transaction, 'base64');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }), (at, value, junk) => {
        const mutated = Buffer.from(bytes);
        mutated[at] = value;
        for (const transaction of [mutated.toString('base64'), Buffer.from(junk).toString('base64')]) {
          const result = inspectPayment({ ...valid, payload: { transaction } }, requirements, ctx);
          if (!result.ok) expect(VERIFY_REASONS).toContain(result.reason);
          else expect(mutated.equals(bytes) || result.value.payer === payer.publicKey()).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
