import { randomBytes } from 'node:crypto';
import { Keypair } from '@stellar/stellar-sdk';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { secretSeedSigner, walletAuthHeadersV1, walletAuthHeadersV2 } from '../../src/client/wallet-auth.js';
import { parseWalletHeaders } from '../../src/wallet-auth/headers.js';
import { EMPTY_BODY_SHA256_HEX, pathWithQueryOf, sha256Hex, signingInput, v1Message, v2Message } from '../../src/protocol/wallet-auth.js';
import { TweetnaclVerifier } from '../../bench/wallet/tweetnacl-verifier.js';
import { hasCanonicalScalar, NodeEd25519Verifier } from '../../src/wallet-auth/verifier.js';

const verifiers = [new NodeEd25519Verifier(), new TweetnaclVerifier()];

/** sig with S replaced by S + L: the same signature in a lax verifier's eyes. */
function malleate(signature: Buffer): Buffer {
  const L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
  const out = Buffer.from(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = out[32 + i]! + L[i]! + carry;
    out[32 + i] = v & 0xff;
    carry = v >> 8;
  }
  return out;
}

describe('messages', () => {
  it('v1 is ASG’s asgcard-auth:<timestamp>', () => {
    expect(v1Message(1_763_726_400)).toBe('asgcard-auth:1763726400');
  });

  it('v2 is the documented seven lines', () => {
    const text = v2Message({
      address: 'GBXFXNDLV4LSWA4VB7YIL5GBD7BVNR22SGBTDKMO2SBZZHDXSKZYCP7L',
      method: 'post',
      pathWithQuery: '/cards/abc/freeze?x=1',
      bodySha256Hex: sha256Hex('{}'),
      timestamp: 1_763_726_400,
      nonce: 'n0nce-0123456789abcdef',
    });
    expect(text).toBe(
      [
        'card402-auth-v2',
        'address:GBXFXNDLV4LSWA4VB7YIL5GBD7BVNR22SGBTDKMO2SBZZHDXSKZYCP7L',
        'method:POST',
        'path:/cards/abc/freeze?x=1',
        'body-sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        'timestamp:1763726400',
        'nonce:n0nce-0123456789abcdef',
      ].join('\n'),
    );
    expect(EMPTY_BODY_SHA256_HEX).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('path with query comes from the request line, for absolute or relative URLs', () => {
    expect(pathWithQueryOf('https://x.example/cards?limit=5')).toBe('/cards?limit=5');
    expect(pathWithQueryOf('/cards/1/details')).toBe('/cards/1/details');
  });

  it('message mode matches the SEP-53 published vector', () => {
    // From the SEP-53 reference tests (stellar-cli): seed, message and expected signature.
    const kp = Keypair.fromSecret('SAKICEVQLYWGSOJS4WW7HZJWAHZVEEBS527LHK5V4MLJALYKICQCJXMW');
    expect(kp.publicKey()).toBe('GBXFXNDLV4LSWA4VB7YIL5GBD7BVNR22SGBTDKMO2SBZZHDXSKZYCP7L');
    const signature = kp.sign(signingInput('Hello, World!', 'message')).toString('base64');
    expect(signature).toBe('fO5dbYhXUhBMhe6kId/cuVq/AfEnHRHEvsP8vXh03M1uLpi5e46yO2Q8rEBzu3feXQewcQE5GArp88u6ePK6BA==');
  });
});

describe.each(verifiers)('$name verifier', (verifier) => {
  it('accepts real signatures and rejects any change to message, signature or key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), async (message, flip) => {
        const kp = Keypair.random();
        const sig = kp.sign(Buffer.from(message));
        const pk = kp.rawPublicKey();
        expect(await verifier.verify(pk, message, sig)).toBe(true);
        const badSig = Buffer.from(sig);
        badSig[flip % 64]! ^= 1 << (flip % 8);
        expect(await verifier.verify(pk, message, badSig)).toBe(false);
        const badMsg = Buffer.concat([Buffer.from(message), Buffer.from([flip & 0xff])]);
        expect(await verifier.verify(pk, badMsg, sig)).toBe(false);
        expect(await verifier.verify(Keypair.random().rawPublicKey(), message, sig)).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects malleated (non-canonical S) signatures', async () => {
    const kp = Keypair.random();
    const msg = Buffer.from('asgcard-auth:1');
    const sig = kp.sign(msg);
    const malleated = malleate(sig);
    expect(await verifier.verify(kp.rawPublicKey(), msg, sig)).toBe(true);
    expect(await verifier.verify(kp.rawPublicKey(), msg, malleated)).toBe(false);
  });

  it('never throws on wrong sizes or garbage keys', async () => {
    expect(await verifier.verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false);
    expect(await verifier.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(63))).toBe(false);
    expect(await verifier.verify(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64))).toBe(false);
  });
});

describe('canonical S', () => {
  it('is what makes tweetnacl safe to key replays on: raw tweetnacl accepts S + L', () => {
    const kp = Keypair.random();
    const msg = Buffer.from('m');
    const malleated = malleate(kp.sign(msg));
    expect(nacl.sign.detached.verify(msg, malleated, kp.rawPublicKey())).toBe(true);
    expect(hasCanonicalScalar(malleated)).toBe(false);
    expect(hasCanonicalScalar(kp.sign(msg))).toBe(true);
  });
});

describe('client headers and the header parser agree', () => {
  const kp = Keypair.random();
  const read = (headers: Record<string, string>) => (name: string) => headers[Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase()) ?? ''];

  it('v1 raw and message, v2', () => {
    const raw = parseWalletHeaders(read(walletAuthHeadersV1(kp, { timestamp: 42 })));
    expect(raw).toMatchObject({ ok: true, headers: { address: kp.publicKey(), timestamp: 42, mode: 'raw', version: 1 } });
    const msg = parseWalletHeaders(read(walletAuthHeadersV1(kp, { timestamp: 42, mode: 'message' })));
    expect(msg).toMatchObject({ ok: true, headers: { mode: 'message', version: 1 } });
    const two = parseWalletHeaders(read(walletAuthHeadersV2(kp, { method: 'GET', url: '/cards' }, { nonce: 'a'.repeat(16) })));
    expect(two).toMatchObject({ ok: true, headers: { version: 2, nonce: 'a'.repeat(16) } });
  });

  it('the Node-crypto seed signer produces exactly Keypair.sign’s signatures', () => {
    const signer = secretSeedSigner(kp.secret());
    expect(signer.publicKey()).toBe(kp.publicKey());
    const data = Buffer.from('asgcard-auth:1763726400');
    expect(signer.sign(data).equals(kp.sign(data))).toBe(true);
    expect(walletAuthHeadersV1(signer, { timestamp: 7 })).toEqual(walletAuthHeadersV1(kp, { timestamp: 7 }));
  });

  it('v2 nonces are fresh each time', () => {
    const a = walletAuthHeadersV2(kp, { method: 'GET', url: '/cards' });
    const b = walletAuthHeadersV2(kp, { method: 'GET', url: '/cards' });
    expect(a['X-WALLET-NONCE']).not.toBe(b['X-WALLET-NONCE']);
    expect(a['X-WALLET-SIGNATURE']).not.toBe(b['X-WALLET-SIGNATURE']);
  });

  it('accepts unpadded base64 signatures and rejects other lengths', () => {
    const headers = walletAuthHeadersV1(kp, { timestamp: 1 });
    headers['X-WALLET-SIGNATURE'] = headers['X-WALLET-SIGNATURE']!.replace(/=+$/, '');
    expect(parseWalletHeaders(read(headers)).ok).toBe(true);
    headers['X-WALLET-SIGNATURE'] = randomBytes(65).toString('base64');
    expect(parseWalletHeaders(read(headers))).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
