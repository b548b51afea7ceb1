import { randomBytes } from 'node:crypto';
import { Account, Keypair, Networks, Operation, TransactionBuilder } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NativeSigner, verifyEd25519 } from '../../src/stellar/ed25519.js';

describe('native Ed25519 matches stellar-sdk byte for byte', () => {
  it('signs exactly as Keypair.sign and verifies only genuine signatures', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
        const keypair = Keypair.random();
        const message = Buffer.from(bytes);
        const signature = new NativeSigner(keypair).sign(message);
        expect(signature.equals(keypair.sign(message))).toBe(true);
        expect(verifyEd25519(keypair.rawPublicKey(), message, signature)).toBe(true);
        const tampered = Buffer.from(signature);
        tampered[0]! ^= 1;
        expect(verifyEd25519(keypair.rawPublicKey(), message, tampered)).toBe(false);
        expect(verifyEd25519(Keypair.random().rawPublicKey(), message, signature)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('signs a transaction envelope exactly as Transaction.sign', () => {
    const keypair = Keypair.random();
    const build = () =>
      new TransactionBuilder(new Account(keypair.publicKey(), '41'), { fee: '100', networkPassphrase: Networks.TESTNET })
        .addOperation(Operation.bumpSequence({ bumpTo: '99' }))
        .setTimebounds(0, 0)
        .build();
    const a = build();
    a.sign(keypair);
    const b = build();
    new NativeSigner(keypair).signTransaction(b);
    expect(b.toXDR()).toBe(a.toXDR());
  });

  it('rejects malformed keys and signatures without throwing', () => {
    expect(verifyEd25519(randomBytes(31), Buffer.from('x'), randomBytes(64))).toBe(false);
    expect(verifyEd25519(randomBytes(32), Buffer.from('x'), randomBytes(63))).toBe(false);
  });
});
