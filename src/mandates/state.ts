import type { MandatePhase } from '../db/schema.js';

/**
 * A mandate's lifecycle (docs/ARCHITECTURE.md, "Mandates"): requested by the agent, `active` once
 * the owner's approve is on the ledger, then `revoked` (by the owner, here or on-chain) or
 * `expired` (past its expiry). Ended mandates never come back: the agent asks for a new one.
 */
export const MANDATE_TRANSITIONS: Readonly<Record<MandatePhase, readonly MandatePhase[]>> = {
  'requires-verification': ['active', 'revoked', 'expired'],
  active: ['revoked', 'expired'],
  revoked: [],
  expired: [],
};

export class IllegalMandateTransitionError extends Error {
  override name = 'IllegalMandateTransitionError';
  constructor(from: MandatePhase, to: MandatePhase) {
    super(`mandate phase cannot change from ${from} to ${to}`);
  }
}

export function assertMandateTransition(from: MandatePhase, to: MandatePhase): void {
  if (from !== to && !MANDATE_TRANSITIONS[from].includes(to)) throw new IllegalMandateTransitionError(from, to);
}
