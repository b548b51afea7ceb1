import { createHmac } from 'node:crypto';

/**
 * Each endpoint's signing secret is derived, never stored: HMAC-SHA256(master key, endpoint id),
 * the master key being derived from the card data key (CardDataCipher.deriveKey('webhook-secrets')).
 * It is shown to the wallet once, when the endpoint is created.
 */
export function endpointSecret(masterKey: Buffer, endpointId: string): string {
  return `whsec_${createHmac('sha256', masterKey).update(endpointId).digest('base64url')}`;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: receivers recompute it over the raw body. */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}
