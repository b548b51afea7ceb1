import type { CardDetails } from './card-data.js';

/**
 * The card provider behind card402. The sandbox issuer implements it in-process; a real provider
 * adapter implements the same calls. Every call that moves money or creates a card takes a
 * `requestKey` (our payment id) and must be idempotent on it, so a retried fulfilment after a
 * crash or a timeout can never create a second card or load twice.
 */
export interface CardIssuer {
  /** Can the provider serve this now? Checked before the 402 and again before settling. */
  checkCapacity(request: { loadCents: number }): Promise<CapacityCheck>;
  issueCard(request: IssueCardRequest): Promise<IssuedCard>;
  fundCard(request: FundCardRequest): Promise<void>;
}

export type CapacityCheck = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface IssueCardRequest {
  requestKey: string;
  nameOnCard: string;
  email: string;
  loadCents: number;
}

export interface IssuedCard {
  providerRef: string;
  details: CardDetails;
}

export interface FundCardRequest {
  requestKey: string;
  providerRef: string;
  amountCents: number;
}

/** The provider refused or failed; fulfilment will be retried (and refunded if it never works). */
export class IssuerError extends Error {
  override name = 'IssuerError';
}
