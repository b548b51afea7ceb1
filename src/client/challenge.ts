import type { OfferedPaymentRequired, OfferedRequirements } from '../protocol/x402.js';
import { PaymentRefusedError, isRecord } from './errors.js';

/** The x402 v2 shapes as the client reads them (wire format: amounts are atomic-unit strings). */
export type PaymentRequirements = OfferedRequirements;
export type PaymentRequired = OfferedPaymentRequired;

/** What the caller expects to pay; anything else in a 402 is refused before signing. */
export interface PaymentExpectation {
  network: string;
  asset: string;
  amountAtomic: bigint;
  /** Pinned treasury; undefined means trust the first payTo seen and pin it. */
  payTo: string | undefined;
  /** Largest single payment allowed. */
  maxPaymentAtomic: bigint;
  /** What this client may still spend in total. */
  remainingSpendAtomic: bigint;
}

/** Reads PaymentRequired from the PAYMENT-REQUIRED header (base64 JSON), else from the JSON body. */
export function parsePaymentRequired(headerValue: string | null, body: unknown): PaymentRequired {
  let candidate: unknown = body;
  if (headerValue) {
    try {
      candidate = JSON.parse(Buffer.from(headerValue, 'base64').toString('utf8'));
    } catch {
      throw new PaymentRefusedError('malformed_challenge', 'PAYMENT-REQUIRED header is not base64 JSON');
    }
  }
  if (!isRecord(candidate) || !Array.isArray(candidate.accepts) || !isRecord(candidate.resource)) {
    throw new PaymentRefusedError('malformed_challenge', '402 response carries no x402 PaymentRequired');
  }
  return candidate as unknown as PaymentRequired;
}

function parseAtomic(amount: unknown): bigint | null {
  return typeof amount === 'string' && /^\d{1,30}$/.test(amount) ? BigInt(amount) : null;
}

/**
 * Picks the requirement to pay and proves it is what we expect: exact scheme, our network and
 * asset, exactly the price, the pinned treasury, and within the limits. Throws otherwise.
 */
export function selectRequirement(challenge: PaymentRequired, expected: PaymentExpectation): PaymentRequirements {
  const exact = challenge.accepts.filter((r) => isRecord(r) && r.scheme === 'exact');
  if (exact.length === 0) throw new PaymentRefusedError('no_supported_requirement', 'no "exact" payment option offered');
  const onNetwork = exact.filter((r) => r.network === expected.network);
  if (onNetwork.length === 0) {
    throw new PaymentRefusedError('wrong_network', `server asks for ${exact.map((r) => r.network).join(', ')}, expected ${expected.network}`);
  }
  const inAsset = onNetwork.filter((r) => r.asset === expected.asset);
  if (inAsset.length === 0) throw new PaymentRefusedError('wrong_asset', `server asks for asset ${onNetwork[0]!.asset}, expected ${expected.asset}`);
  const requirement = inAsset[0]!;
  const amount = parseAtomic(requirement.amount);
  if (amount === null || amount !== expected.amountAtomic) {
    throw new PaymentRefusedError('amount_mismatch', `server asks for ${String(requirement.amount)} atomic units, this call costs ${expected.amountAtomic}`);
  }
  if (typeof requirement.payTo !== 'string' || !/^[GC][A-Z2-7]{55}$/.test(requirement.payTo)) {
    throw new PaymentRefusedError('malformed_challenge', 'payTo is not a Stellar address');
  }
  if (expected.payTo !== undefined && requirement.payTo !== expected.payTo) {
    throw new PaymentRefusedError('unexpected_pay_to', `server asks to pay ${requirement.payTo}, pinned treasury is ${expected.payTo}`);
  }
  if (amount > expected.maxPaymentAtomic) {
    throw new PaymentRefusedError('over_payment_limit', `${amount} atomic units is over the per-payment limit of ${expected.maxPaymentAtomic}`);
  }
  if (amount > expected.remainingSpendAtomic) {
    throw new PaymentRefusedError('over_spend_cap', `${amount} atomic units is over the remaining spend cap of ${expected.remainingSpendAtomic}`);
  }
  if (!Number.isSafeInteger(requirement.maxTimeoutSeconds) || requirement.maxTimeoutSeconds <= 0) {
    throw new PaymentRefusedError('malformed_challenge', 'maxTimeoutSeconds is not a positive integer');
  }
  return requirement;
}
