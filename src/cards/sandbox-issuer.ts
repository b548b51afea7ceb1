import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import { reusableQuery, reusableStatement } from '../db/reusable-query.js';
import type { Database, SandboxIssuerOperationRow } from '../db/schema.js';
import { WriteBatcher } from '../db/write-batch.js';
import type { CardDataCipher, CardDetails } from './card-data.js';
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

const usedCentsQuery = reusableQuery(0, (db: Kysely<Database>) => db.selectFrom('sandbox_issuer_usage').select('used_cents').where('id', '=', 1));
const operationByKey = reusableQuery(1, (db: Kysely<Database>, requestKey: string) =>
  db.selectFrom('sandbox_issuer_operations').selectAll().where('request_key', '=', requestKey),
);
/** Adds `cents` to the total loaded unless that would pass `capacityCents`: one row changed, or none. */
const reserveStatement = reusableStatement(3, (db: Kysely<Database>, cents: number, centsAgain: number, capacityCents: number) =>
  db
    .updateTable('sandbox_issuer_usage')
    .set((eb) => ({ used_cents: eb('used_cents', '+', cents) }))
    .where('id', '=', 1)
    .where((eb) => eb(eb('used_cents', '+', centsAgain), '<=', capacityCents)),
);
const insertOperation = reusableStatement(
  6,
  (db: Kysely<Database>, requestKey: string, operation: Operation, providerRef: string, amountCents: number, detailsCiphertext: Buffer | null, createdAt: number) =>
    db.insertInto('sandbox_issuer_operations').values({
      request_key: requestKey,
      operation,
      provider_ref: providerRef,
      amount_cents: amountCents,
      details_ciphertext: detailsCiphertext,
      created_at: createdAt,
    }),
);

export interface SandboxIssuerDeps {
  /** Where the issuer keeps what it issued and loaded, as a provider would on its side. */
  db: Db;
  clock: Clock;
  /** Seals the issued cards' data in the issuer's records (the card data key). */
  cipher: CardDataCipher;
  /** Total USD, in cents, it will ever load (ISSUER_CAPACITY_USD). */
  capacityCents: number;
}

/**
 * Issuer for local runs and tests: Luhn-valid numbers in a test BIN, random CVV, expiry three
 * years out, a sandbox billing address, and a capacity limit (total USD it will load) to exercise
 * 503 provider_capacity. Like a real provider it keeps its own records, in the database
 * (sandbox_issuer_operations, sandbox_issuer_usage), so capacity and idempotency survive a
 * restart: an issue or load is recorded (committed) before it is answered, and the same requestKey
 * (our payment id) always gets the first answer, also after a crash between issuing and our own
 * commit. Tests can make it fail.
 */
export class SandboxIssuer implements CardIssuer {
  private capacityCents: number;
  private readonly writer: WriteBatcher;
  private readonly failures: Record<Operation, number> = { issue: 0, fund: 0 };
  /** How many calls of this instance actually created or loaded something (for tests). */
  readonly calls = { issue: 0, fund: 0 };

  constructor(private readonly deps: SandboxIssuerDeps) {
    this.capacityCents = deps.capacityCents;
    // Issues that arrive together (settlements resolve together when a ledger closes) share a commit.
    this.writer = new WriteBatcher(deps.db);
  }

  /** Test hook: the next `count` calls of `operation` fail with IssuerError. */
  failNext(operation: Operation, count = 1): void {
    this.failures[operation] += count;
  }

  setCapacityCents(cents: number): void {
    this.capacityCents = cents;
  }

  async remainingCents(): Promise<number> {
    const [usage] = await usedCentsQuery(this.deps.db);
    return Math.max(0, this.capacityCents - (usage?.used_cents ?? 0));
  }

  async checkCapacity(request: { loadCents: number }): Promise<CapacityCheck> {
    return this.capacityCents > 0 && request.loadCents <= (await this.remainingCents())
      ? { ok: true }
      : { ok: false, retryAfterSeconds: SANDBOX_RETRY_AFTER_SECONDS };
  }

  private maybeFail(operation: Operation): void {
    if (this.failures[operation] > 0) {
      this.failures[operation] -= 1;
      throw new IssuerError(`sandbox issuer: injected ${operation} failure`);
    }
  }

  /**
   * Records a new issue or load in one transaction: the request key is still unused, capacity
   * allows it (the total is raised in the same statement that checks it), and the record. Returns
   * the existing record instead when the key was used before.
   */
  private record(operation: Operation, requestKey: string, providerRef: string, amountCents: number, ciphertext: Buffer | null) {
    return this.writer.run(async (trx): Promise<SandboxIssuerOperationRow | undefined> => {
      const [previous] = await operationByKey(trx, requestKey);
      if (previous) {
        if (previous.operation !== operation) throw new IssuerError(`sandbox issuer: request key ${requestKey} was used for ${previous.operation}`);
        return previous;
      }
      this.maybeFail(operation);
      const reserved = await reserveStatement(trx, amountCents, amountCents, this.capacityCents);
      if (!reserved.numAffectedRows) throw new IssuerError('sandbox issuer: out of capacity');
      await insertOperation(trx, requestKey, operation, providerRef, amountCents, ciphertext, this.deps.clock.nowMs());
      return undefined;
    });
  }

  async issueCard(request: IssueCardRequest): Promise<IssuedCard> {
    const card = this.newCard();
    const previous = await this.record('issue', request.requestKey, card.providerRef, request.loadCents, this.deps.cipher.encrypt(card.providerRef, card.details));
    if (previous) return { providerRef: previous.provider_ref, details: this.deps.cipher.decrypt(previous.provider_ref, previous.details_ciphertext!) };
    this.calls.issue += 1;
    return card;
  }

  async fundCard(request: FundCardRequest): Promise<void> {
    const previous = await this.record('fund', request.requestKey, request.providerRef, request.amountCents, null);
    if (!previous) this.calls.fund += 1;
  }

  private newCard(): IssuedCard {
    const body = SANDBOX_BIN + String(randomInt(0, 1_000_000_000)).padStart(9, '0');
    const now = new Date(this.deps.clock.nowMs());
    const details: CardDetails = {
      cardNumber: body + luhnCheckDigit(body),
      expiryMonth: now.getUTCMonth() + 1,
      expiryYear: now.getUTCFullYear() + CARD_VALIDITY_YEARS,
      cvv: String(randomInt(0, 1000)).padStart(3, '0'),
      billingAddress: { line1: '1 Sandbox Way', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
    };
    return { providerRef: `sandbox_${randomUUID()}`, details };
  }
}
