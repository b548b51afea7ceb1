import nacl from 'tweetnacl';
import { NodeEd25519Verifier, wellFormed, type SignatureVerifier } from '../../src/wallet-auth/verifier.js';

/** tweetnacl's pure-JS Ed25519: portable, and the baseline the wallet benchmark compares Node's against. */
export class TweetnaclVerifier implements SignatureVerifier {
  readonly name = 'tweetnacl';

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!wellFormed(publicKey, signature)) return Promise.resolve(false);
    try {
      return Promise.resolve(nacl.sign.detached.verify(message, signature, publicKey));
    } catch {
      return Promise.resolve(false);
    }
  }
}

export type VerifierName = 'node' | 'tweetnacl';

export function createVerifier(name: VerifierName): SignatureVerifier {
  return name === 'node' ? new NodeEd25519Verifier() : new TweetnaclVerifier();
}
