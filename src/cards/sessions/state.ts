import type { CardSessionStatus, SecretsSessionStatus } from '../../db/schema.js';

/**
 * The lifecycles of card sessions and secrets sessions (docs/ARCHITECTURE.md, "Card data"). A
 * status changes only through the repository's compare-and-set functions, which refuse any edge
 * not listed here.
 *
 * Card session: active (redeemable; a redemption below the count keeps it active) → redeemed
 * (count reached) or expired (TTL, by the sweeper) → scrubbed (its token hash wiped: it can never
 * be redeemed again, whatever token is shown). A session past its expiry is answered `expired`
 * before the sweeper gets to it.
 *
 * Secrets session: active → used (its key used once, then wiped) or expired → scrubbed.
 */
export const CARD_SESSION_TRANSITIONS: Readonly<Record<CardSessionStatus, readonly CardSessionStatus[]>> = {
  active: ['active', 'redeemed', 'expired'],
  redeemed: ['scrubbed'],
  expired: ['scrubbed'],
  scrubbed: [],
};

export const SECRETS_SESSION_TRANSITIONS: Readonly<Record<SecretsSessionStatus, readonly SecretsSessionStatus[]>> = {
  active: ['used', 'expired'],
  used: ['scrubbed'],
  expired: ['scrubbed'],
  scrubbed: [],
};

/** A change of status a lifecycle does not allow: a bug in the caller, never a client's doing. */
export class IllegalSessionTransitionError extends Error {
  override name = 'IllegalSessionTransitionError';
  constructor(kind: string, from: string, to: string) {
    super(`${kind} status cannot change from ${from} to ${to}`);
  }
}

export function assertCardSessionTransition(from: CardSessionStatus, to: CardSessionStatus): void {
  if (!CARD_SESSION_TRANSITIONS[from].includes(to)) throw new IllegalSessionTransitionError('card session', from, to);
}

export function assertSecretsSessionTransition(from: SecretsSessionStatus, to: SecretsSessionStatus): void {
  if (!SECRETS_SESSION_TRANSITIONS[from].includes(to)) throw new IllegalSessionTransitionError('secrets session', from, to);
}

/** What a reader is told: a stored `active` session past its expiry is already `expired`. */
export function effectiveCardSessionStatus(row: { status: CardSessionStatus; expires_at: number }, nowMs: number): CardSessionStatus {
  return row.status === 'active' && nowMs >= row.expires_at ? 'expired' : row.status;
}

export function effectiveSecretsSessionStatus(row: { status: SecretsSessionStatus; expires_at: number }, nowMs: number): SecretsSessionStatus {
  return row.status === 'active' && nowMs >= row.expires_at ? 'expired' : row.status;
}
