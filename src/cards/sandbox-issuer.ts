import { randomInt, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { CardDetails } from './card-data.js';
import { IssuerError, type CapacityCheck, type CardIssuer, type FundCardRequest, type IssueCardRequest, type IssuedCard } from './issuer.js';

/** A Visa test BIN: numbers from it are Luhn-valid but never real cards. */
export const SANDBOX_BIN = '400000';
export const SANDBOX_RETRY_AFTER_SECONDS = 60;
const CARD_VALIDITY_YEARS = 3;

/** Luhn check digit for a string of digits (without the check digit). */
export function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isLuhnValid(number: string): boolean {
  return /^\d{12,19}$/.test(number) && luhnCheckDigit(number.slice(0, -1)) === number.slice(-1);
}

type Operation = 'issue' | 'fund';

/**
 * In-process issuer for local runs and tests: Luhn-valid numbers in a test BIN, random CVV,
 * expiry three years out, a sandbox billing address, and a capacity limit (total USD it will load)
 * to exercise 503 provider_capacity. Idempotent on requestKey. Tests can make it fail.
 */
export class SandboxIssuer implements CardIssuer {
  private usedCents = 0;
  private readonly issued = new Map<string, IssuedCard>();
  private readonly funded = new Set<string>();
  private readonly failures: Record<Operation, number> = { issue: 0, fund: 0 };
  /** How many provider calls actually created or loaded something (for tests). */
  readonly calls = { issue: 0, fund: 0 };

  constructor(
    private capacityCents: number,
    private readonly clock: Clock,
  ) {}

  /** Test hook: the next `count` calls of `operation` fail with IssuerError. */
  failNext(operation: Operation, count = 1): void {
    this.failures[operation] += count;
  }

  setCapacityCents(cents: number): void {
    this.capacityCents = cents;
  }

  remainingCents(): number {
    return Math.max(0, this.capacityCents - this.usedCents);
  }

  async checkCapacity(request: { loadCents: number }): Promise<CapacityCheck> {
    return request.loadCents <= this.remainingCents() && this.capacityCents > 0
      ? { ok: true }
      : { ok: false, retryAfterSeconds: SANDBOX_RETRY_AFTER_SECONDS };
  }

  private maybeFail(operation: Operation): void {
    if (this.failures[operation] > 0) {
      this.failures[operation] -= 1;
      throw new IssuerError(`sandbox issuer: injected ${operation} failure`);
    }
  }

  async issueCard(request: IssueCardRequest): Promise<IssuedCard> {
    const previous = this.issued.get(request.requestKey);
    if (previous) return previous;
    this.maybeFail('issue');
    if (request.loadCents > this.remainingCents()) throw new IssuerError('sandbox issuer: out of capacity');
    const body = SANDBOX_BIN + String(randomInt(0, 1_000_000_000)).padStart(9, '0');
    const now = new Date(this.clock.nowMs());
    const details: CardDetails = {
      cardNumber: body + luhnCheckDigit(body),
      expiryMonth: now.getUTCMonth() + 1,
      expiryYear: now.getUTCFullYear() + CARD_VALIDITY_YEARS,
      cvv: String(randomInt(0, 1000)).padStart(3, '0'),
      billingAddress: { line1: '1 Sandbox Way', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
    };
    const card: IssuedCard = { providerRef: `sandbox_${randomUUID()}`, details };
    this.usedCents += request.loadCents;
    this.calls.issue += 1;
    this.issued.set(request.requestKey, card);
    return card;
  }

  async fundCard(request: FundCardRequest): Promise<void> {
    if (this.funded.has(request.requestKey)) return;
    this.maybeFail('fund');
    if (request.amountCents > this.remainingCents()) throw new IssuerError('sandbox issuer: out of capacity');
    this.usedCents += request.amountCents;
    this.calls.fund += 1;
    this.funded.add(request.requestKey);
  }
}
