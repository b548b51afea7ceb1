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

describe('raw settlement envelopes match TransactionBuilder + Transaction.sign', () => {
  it('builds the same signed envelope and hash, plain and fee-bumped', async () => {
    const { buildInvokeEnvelope } = await import('../../src/stellar/envelope.js');
    const { Address, FeeBumpTransaction, TransactionBuilder: TB, nativeToScVal, xdr } = await import('@stellar/stellar-sdk');
    const channel = Keypair.random();
    const feePayer = Keypair.random();
    const invoke = new xdr.InvokeContractArgs({
      contractAddress: Address.fromString('CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA').toScAddress(),
      functionName: 'transfer',
      args: [nativeToScVal(Keypair.random().publicKey(), { type: 'address' }), nativeToScVal(Keypair.random().publicKey(), { type: 'address' }), nativeToScVal(5n, { type: 'i128' })],
    });
    const func = xdr.HostFunction.hostFunctionTypeInvokeContract(invoke);
    const contractKey = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: Address.fromString('CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA').toScAddress(),
        key: xdr.ScVal.scvLedgerKeyContractInstance(),
        durability: xdr.ContractDataDurability.persistent(),
      }),
    );
    const accountKey = xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: Keypair.random().xdrPublicKey() }));
    const sorobanData = new xdr.SorobanTransactionData({
      ext: new xdr.SorobanTransactionDataExt(0),
      resources: new xdr.SorobanResources({ footprint: new xdr.LedgerFootprint({ readOnly: [contractKey], readWrite: [accountKey] }), instructions: 1, diskReadBytes: 2, writeBytes: 3 }),
      resourceFee: xdr.Int64.fromString('5000'),
    });
    const encodedSorobanData = { xdr: sorobanData.toXDR(), resourceFee: 5000n };
    // A signed address-credential auth entry, as payments carry.
    const auth = [
      new xdr.SorobanAuthorizationEntry({
        credentials: xdr.SorobanCredentials.sorobanCredentialsAddress(
          new xdr.SorobanAddressCredentials({
            address: Address.fromString(Keypair.random().publicKey()).toScAddress(),
            nonce: xdr.Int64.fromString('-77'),
            signatureExpirationLedger: 1234,
            signature: xdr.ScVal.scvVec([xdr.ScVal.scvMap([new xdr.ScMapEntry({ key: xdr.ScVal.scvSymbol('public_key'), val: xdr.ScVal.scvBytes(randomBytes(32)) })])]),
          }),
        ),
        rootInvocation: new xdr.SorobanAuthorizedInvocation({ function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(invoke), subInvocations: [] }),
      }),
    ];
    const reference = new TB(new Account(channel.publicKey(), '41'), { fee: '100', networkPassphrase: Networks.TESTNET, sorobanData })
      .addOperation(Operation.invokeHostFunction({ func, auth }))
      .setTimebounds(0, 1_900_000_000)
      .build();
    reference.sign(channel);
    const built = buildInvokeEnvelope({
      source: new NativeSigner(channel), sequence: 42n, feeStroops: 5100n, maxTimeUnixSeconds: 1_900_000_000,
      hostFunction: func, auth, sorobanData: encodedSorobanData, networkPassphrase: Networks.TESTNET,
    });
    expect(built.xdr).toBe(reference.toXDR());
    expect(built.hash).toBe(reference.hash().toString('hex'));

    const bump = TB.buildFeeBumpTransaction(feePayer, '100', reference, Networks.TESTNET);
    bump.sign(feePayer);
    const bumped = buildInvokeEnvelope({
      source: new NativeSigner(channel), sequence: 42n, feeStroops: 5100n, maxTimeUnixSeconds: 1_900_000_000,
      hostFunction: func, auth, sorobanData: encodedSorobanData, networkPassphrase: Networks.TESTNET, feePayer: new NativeSigner(feePayer),
    });
    expect(bump).toBeInstanceOf(FeeBumpTransaction);
    expect(bumped.xdr).toBe(bump.toXDR());
    expect(bumped.hash).toBe(bump.hash().toString('hex'));
  });
});
