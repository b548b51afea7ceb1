import nacl from 'tweetnacl';
import { z } from 'zod';

/**
 * Card data sealed to an agent's X25519 key (issue #14): the client sends its public key in
 * X-AGENT-PUBKEY and the answer holds only a nacl.box (X25519, XSalsa20-Poly1305) from a fresh
 * ephemeral key. Shared by the server (which seals) and the SDK (which opens with tweetnacl).
 */
export const AGENT_PUBKEY_HEADER = 'X-AGENT-PUBKEY';
export const SEALED_ALG = 'x25519-xsalsa20-poly1305';
export const X25519_KEY_BYTES = 32;
export const SEALED_NONCE_BYTES = 24;

const BASE64_32_BYTES = /^[A-Za-z0-9+/]{43}=$/;

export const sealedBoxSchema = z.object({
  alg: z.literal(SEALED_ALG),
  /** base64, 32 bytes: the sender's one-time X25519 public key. */
  ephemeralPublicKey: z.string(),
  /** base64, 24 bytes. */
  nonce: z.string(),
  /** base64: nacl.box output (16-byte Poly1305 tag, then the encrypted JSON). */
  ciphertext: z.string(),
});
export type SealedBox = z.infer<typeof sealedBoxSchema>;

/** `GET /cards/:cardId/details` with X-AGENT-PUBKEY: no plaintext, only the sealed box. */
export const sealedDetailsResponseSchema = z.object({ sealed: sealedBoxSchema });
export type SealedDetailsResponse = z.infer<typeof sealedDetailsResponseSchema>;

/** The X-AGENT-PUBKEY value as 32 bytes, or null when it is not exactly 32 bytes of padded base64. */
export function parseAgentPublicKey(text: string): Uint8Array | null {
  const trimmed = text.trim();
  if (!BASE64_32_BYTES.test(trimmed)) return null;
  return new Uint8Array(Buffer.from(trimmed, 'base64'));
}

/** A fresh X25519 key pair for one sealed answer (the client keeps the secret key to itself). */
export function agentKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return nacl.box.keyPair();
}

export function encodeAgentPublicKey(publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64');
}

export class SealedBoxError extends Error {
  override name = 'SealedBoxError';
}

/** Opens a sealed answer with the agent's secret key: nacl.box.open, then JSON. */
export function openSealed(box: SealedBox, secretKey: Uint8Array): unknown {
  const ephemeral = Buffer.from(box.ephemeralPublicKey, 'base64');
  const nonce = Buffer.from(box.nonce, 'base64');
  if (box.alg !== SEALED_ALG || ephemeral.length !== X25519_KEY_BYTES || nonce.length !== SEALED_NONCE_BYTES) {
    throw new SealedBoxError('sealed answer has a wrong algorithm, key or nonce size');
  }
  const plain = nacl.box.open(new Uint8Array(Buffer.from(box.ciphertext, 'base64')), new Uint8Array(nonce), new Uint8Array(ephemeral), secretKey);
  if (!plain) throw new SealedBoxError('sealed answer does not open with this key (tampered, or sealed to another key)');
  return JSON.parse(Buffer.from(plain).toString('utf8'));
}
