import { Keypair, xdr } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOCALNET_PASSPHRASE } from '../../src/localnet/index.js';
import { buildPaymentRequired, buildRequirements } from '../../src/x402/challenge.js';
import { inspectPayment, VERIFY_REASONS } from '../../src/x402/verify.js';
import { offlinePayment } from '../helpers/payments.js';

const payTo = Keypair.random().publicKey();
const requirements = buildRequirements({ network: 'stellar:testnet', asset: 'CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA', payTo, maxTimeoutSeconds: 60 }, 1_000n);
const required = buildPaymentRequired({ resourceUrl: 'https://card402.test/x', description: 'x', requirements });
const ctx = { networkPassphrase: LOCALNET_PASSPHRASE, facilitatorAddresses: new Set<string>(), maxFeeStroops: 1_000_000n };
const payer = Keypair.random();

describe('inspectPayment (local checks, no ledger)', () => {
  it('accepts a locally signed payment and reports payer, nonce, expiry and amount', async () => {
    const payment = await offlinePayment(required, payer, { expirationLedger: 77 });
    const result = inspectPayment(payment, requirements, ctx);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ payer: payer.publicKey(), expirationLedger: 77, amount: 1_000n });
    expect(typeof result.value.nonce).toBe('bigint');
  });

  it('binds the signature to the network: a payment signed for another passphrase is invalid', async () => {
    const payment = await offlinePayment(required, payer, { expirationLedger: 77, networkPassphrase: 'Public Global Stellar Network ; September 2015' });
    expect(inspectPayment(payment, requirements, ctx)).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  it('reads the account signature only as Vec[Map{public_key: Bytes, signature: Bytes(64)}] (symbol keys) of the payer', async () => {
    const valid = await offlinePayment(required, payer, { expirationLedger: 77 });
    /** The payment with its auth entry's signature ScVal rewritten from the original's fields. */
    const withSignature = (rewrite: (fields: { publicKey: Buffer; signature: Buffer }) => xdr.ScVal) => {
      const envelope = xdr.TransactionEnvelope.fromXDR(valid.payload.transaction, 'base64');
      const credentials = envelope.v1().tx().operations()[0]!.body().invokeHostFunctionOp().auth()[0]!.credentials().address();
      const entries = credentials.signature().vec()![0]!.map()!;
      const field = (name: string) => entries.find((e) => e.key().sym().toString() === name)!.val().bytes();
      credentials.signature(rewrite({ publicKey: field('public_key'), signature: field('signature') }));
      return { ...valid, payload: { transaction: envelope.toXDR('base64') } };
    };
    const entry = (key: xdr.ScVal, bytes: Buffer) => new xdr.ScMapEntry({ key, val: xdr.ScVal.scvBytes(bytes) });
    const sym = (name: string) => xdr.ScVal.scvSymbol(name);
    const map = (publicKey: Buffer, signature: Buffer, keyOf = sym) => xdr.ScVal.scvMap([entry(keyOf('public_key'), publicKey), entry(keyOf('signature'), signature)]);

    const same = withSignature(({ publicKey, signature }) => xdr.ScVal.scvVec([map(publicKey, signature)]));
    expect(inspectPayment(same, requirements, ctx).ok).toBe(true);
    const invalid = [
      withSignature(({ publicKey, signature }) => map(publicKey, signature)), // not in a Vec
      withSignature(({ publicKey, signature }) => xdr.ScVal.scvVec([map(publicKey, signature), map(publicKey, signature)])),
      withSignature(({ publicKey, signature }) => xdr.ScVal.scvVec([map(publicKey, signature, (name) => xdr.ScVal.scvString(name))])),
      withSignature(({ publicKey, signature }) => xdr.ScVal.scvVec([map(publicKey, signature.subarray(0, 63))])),
      withSignature(({ signature }) => xdr.ScVal.scvVec([map(Keypair.random().rawPublicKey(), signature)])),
      withSignature(({ publicKey }) => xdr.ScVal.scvVec([xdr.ScVal.scvMap([entry(sym('public_key'), publicKey)])])),
      withSignature(({ publicKey, signature }) => xdr.ScVal.scvVec([map(publicKey, Buffer.from(signature.map((byte, i) => (i === 0 ? byte ^ 1 : byte))))])),
    ];
    for (const payment of invalid) expect(inspectPayment(payment, requirements, ctx)).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  it('never throws and always answers a known reason, whatever the transaction bytes', async () => {
    const valid = await offlinePayment(required, payer, { expirationLedger: 77 });
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
