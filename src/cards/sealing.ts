import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { SEALED_ALG, SEALED_NONCE_BYTES, type SealedBox } from '../protocol/sealed.js';

/** "expand 32-byte k": the Salsa20 constant that nacl.box's key derivation (crypto_box_beforenm) uses. */
const SIGMA = new Uint8Array(Buffer.from('expand 32-byte k', 'ascii'));
const ZERO_16 = new Uint8Array(16);

/** tweetnacl exports its primitives as `nacl.lowlevel`, which its typings leave out. */
const lowlevel = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, key: Uint8Array, constant: Uint8Array): number } }).lowlevel;

export class SealingKeyError extends Error {
  override name = 'SealingKeyError';
}

/**
 * Seals to one agent X25519 public key from a fresh ephemeral key, byte for byte what
 * `nacl.box(message, nonce, agentPublicKey, ephemeralSecretKey)` produces (tweetnacl's
 * `nacl.box.open` opens it). nacl.box is X25519, then HSalsa20 over the shared point
 * (crypto_box_beforenm), then XSalsa20-Poly1305 (nacl.secretbox): the X25519 steps run in
 * node:crypto, the rest in tweetnacl. Why not nacl.box whole: tweetnacl's pure-JS scalar
 * multiplication costs ~3 ms and a sealed answer needs two (key pair and shared point), far over
 * the 2 ms a details read takes; node:crypto does both in a fraction of a millisecond.
 *
 * Built before anything is spent, so a key that cannot be used (a low-order point, whose shared
 * secret would be all zeros: node:crypto refuses it) is refused before the card is touched.
 */
export class Sealer {
  private constructor(
    private readonly ephemeralPublicKey: Buffer,
    private readonly boxKey: Uint8Array,
  ) {}

  static to(agentPublicKey: Uint8Array): Sealer {
    let theirs: KeyObject;
    let shared: Buffer;
    const ephemeral = generateKeyPairSync('x25519');
    try {
      theirs = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(agentPublicKey).toString('base64url') }, format: 'jwk' });
      shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: theirs });
    } catch {
      throw new SealingKeyError('X-AGENT-PUBKEY is not a usable X25519 public key');
    }
    const boxKey = new Uint8Array(32);
    lowlevel.crypto_core_hsalsa20(boxKey, ZERO_16, new Uint8Array(shared), SIGMA);
    shared.fill(0);
    const jwk = ephemeral.publicKey.export({ format: 'jwk' });
    return new Sealer(Buffer.from(jwk.x!, 'base64url'), boxKey);
  }

  /** Seals `value` as JSON. One Sealer seals one answer: its ephemeral key is never reused. */
  sealJson(value: unknown): SealedBox {
    const nonce = new Uint8Array(randomBytes(SEALED_NONCE_BYTES));
    const plain = new Uint8Array(Buffer.from(JSON.stringify(value), 'utf8'));
    const ciphertext = nacl.secretbox(plain, nonce, this.boxKey);
    plain.fill(0);
    this.boxKey.fill(0);
    return {
      alg: SEALED_ALG,
      ephemeralPublicKey: this.ephemeralPublicKey.toString('base64'),
      nonce: Buffer.from(nonce).toString('base64'),
      ciphertext: Buffer.from(ciphertext).toString('base64'),
    };
  }
}
