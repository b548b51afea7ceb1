import type { Context } from 'hono';
import { Sealer, SealingKeyError } from '../../cards/sealing.js';
import { AGENT_PUBKEY_HEADER, parseAgentPublicKey } from '../../protocol/sealed.js';
import { AppError } from '../kernel/errors.js';
import { requestHeader } from '../kernel/request-header.js';

/**
 * X-AGENT-PUBKEY (base64 X25519 public key, 32 bytes) → a Sealer for this one answer, or undefined
 * when the header is absent. A malformed or unusable key is 400 INVALID_AGENT_PUBKEY; call this
 * before the service, so such a request spends nothing of the card.
 */
export function sealerFor(c: Context): Sealer | undefined {
  const header = requestHeader(c, AGENT_PUBKEY_HEADER);
  if (header === undefined) return undefined;
  const key = parseAgentPublicKey(header);
  const invalid = () => new AppError('INVALID_AGENT_PUBKEY', `${AGENT_PUBKEY_HEADER} must be a base64 X25519 public key (32 bytes)`);
  if (!key) throw invalid();
  try {
    return Sealer.to(key);
  } catch (err) {
    if (err instanceof SealingKeyError) throw invalid();
    throw err;
  }
}
