import type { FeeBumpTransaction, Transaction, rpc } from '@stellar/stellar-sdk';
import type { Clock } from '../clock.js';
import type { CardDataCipher } from '../cards/card-data.js';
import type { CardIssuer } from '../cards/issuer.js';
import type { Db } from '../db/open.js';
import { WriteBatcher } from '../db/write-batch.js';
import type { PaymentRow, PaymentStatus } from '../db/schema.js';
import type { Facilitator } from '../facilitator/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/index.js';
import type { Treasury } from '../stellar/treasury.js';
import type { PaymentTerms } from '../x402/challenge.js';
import type { PaymentRequirements } from '../protocol/x402.js';
import type { MandateService } from '../mandates/service.js';
import type { MandateAccount } from '../stellar/mandate-account.js';
import { Checkout } from './checkout.js';
import { MandateCheckout, type MandateCall } from './mandate-checkout.js';
import { PRODUCTS, ProductRegistry, type PaidProduct } from './products/index.js';
import type { LedgerEvidence } from './fate.js';
import { InFlight } from './in-flight.js';
import type { SharedLeases } from '../db/leases.js';
import { Recovery } from './recovery.js';
import { Refunds } from './refunds.js';
import { ClosureRefunds } from './closure-refunds.js';
import { repeatEvery } from '../repeat.js';
import { findPayment } from './repository.js';
import { Settlement } from './settlement.js';
import type { PaidCall, PaidOutcome, PaidRequest } from './types.js';

export interface PaymentServiceDeps {
  db: Db;
  /** Leases shared with other instances on the same database (PostgreSQL); none on SQLite. */
  leases?: SharedLeases | undefined;
  clock: Clock;
  logger: Logger;
  terms: PaymentTerms;
  networkPassphrase: string;
  facilitator: Facilitator;
  issuer: CardIssuer;
  cipher: CardDataCipher;
  /** What is sold (default: PRODUCTS); a payment whose kind is not here cannot be fulfilled. */
  products?: readonly PaidProduct<any>[] | undefined;
  /**
   * Our own view of the ledger, where the evidence that a payment reached us is read: transactions
   * an external facilitator sent, and transfers made with a payment we answered "failed".
   * Without it such payments cannot be proven and are never fulfilled nor refunded.
   */
  ledger?: LedgerEvidence | undefined;
  /** Sends refunds; without it unfulfillable payments stay paid_unfulfilled (and are logged). */
  treasury?: Treasury | undefined;
  maxFeeStroops: bigint;
  ledgerSeconds: number;
  fulfilMaxAttempts: number;
  /** Simulates transfers for payers that cannot (a browser wallet on the approval page, issue 16). */
  simulator?: TransferSimulator | undefined;
  /** How long a poll (a refund landing, a claimed settlement showing up) waits before leaving it to the next pass. */
  refundPollTimeoutMs?: number;
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  metrics?: Metrics | undefined;
  /** Purchases within mandates (issue 17): the mandates and the account that spends their allowances. */
  mandates?: { service: MandateService; account: MandateAccount } | undefined;
}

export interface TransferSimulator {
  simulateRaw(tx: Transaction | FeeBumpTransaction | string): Promise<rpc.Api.SimulateTransactionResponse>;
  latestLedger(): Promise<number>;
}

/**
 * Payments, composed from one part per job (docs/ARCHITECTURE.md, "Layers"): checkout (the paid
 * request), settlement (shared by the request and recovery), recovery (start-up and the
 * reconciler) and refunds. The parts share the in-flight set, so recovery never resumes a payment
 * a request is still working on.
 */
export class PaymentService {
  private readonly checkout: Checkout;
  private readonly recovery: Recovery;
  private readonly mandateCheckout: MandateCheckout | undefined;
  /** What this server sells; the paid routes are made from it. */
  readonly products: readonly PaidProduct<any>[];
  /** Sends closed cards' balances back to their owners (DELETE /cards/:cardId), with the refunds' machinery. */
  readonly closureRefunds: ClosureRefunds;

  /** What payments are accepted (everything but the amount). */
  readonly terms: PaymentTerms;
  readonly networkPassphrase: string;
  readonly ledgerSeconds: number;
  readonly simulator: TransferSimulator | undefined;

  private readonly inFlight: InFlight;

  constructor(private readonly deps: PaymentServiceDeps) {
    this.products = deps.products ?? PRODUCTS;
    this.terms = deps.terms;
    this.networkPassphrase = deps.networkPassphrase;
    this.ledgerSeconds = deps.ledgerSeconds;
    this.simulator = deps.simulator;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const pollTimeoutMs = deps.refundPollTimeoutMs ?? 30_000;
    const pollIntervalMs = deps.pollIntervalMs ?? 500;
    const writer = new WriteBatcher(deps.db);
    const inFlight = new InFlight(deps.leases);
    this.inFlight = inFlight;
    const fulfilment = { db: deps.db, writer, clock: deps.clock, issuer: deps.issuer, cipher: deps.cipher, logger: deps.logger, products: new ProductRegistry(this.products) };
    const settlement = new Settlement({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      facilitator: deps.facilitator,
      ledger: deps.ledger,
      writer,
      pollTimeoutMs,
      pollIntervalMs,
      sleep,
      metrics: deps.metrics,
    });
    this.mandateCheckout = deps.mandates
      ? new MandateCheckout({
          db: deps.db,
          clock: deps.clock,
          logger: deps.logger,
          terms: deps.terms,
          issuer: deps.issuer,
          mandates: deps.mandates.service,
          account: deps.mandates.account,
          fulfilment,
          inFlight,
          ledgerSeconds: deps.ledgerSeconds,
          pollTimeoutMs,
          pollIntervalMs,
          sleep,
        })
      : undefined;
    const refunds = new Refunds({ db: deps.db, clock: deps.clock, logger: deps.logger, treasury: deps.treasury, pollTimeoutMs, pollIntervalMs, sleep, metrics: deps.metrics });
    this.closureRefunds = new ClosureRefunds({ db: deps.db, clock: deps.clock, logger: deps.logger, treasury: deps.treasury, pollTimeoutMs, pollIntervalMs, sleep, metrics: deps.metrics });
    this.recovery = new Recovery({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      terms: deps.terms,
      ledgerSeconds: deps.ledgerSeconds,
      facilitator: deps.facilitator,
      ledger: deps.ledger,
      fulfilMaxAttempts: deps.fulfilMaxAttempts,
      settlement,
      fulfilment,
      refunds,
      inFlight,
      mandates: this.mandateCheckout,
    });
    this.checkout = new Checkout({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      terms: deps.terms,
      networkPassphrase: deps.networkPassphrase,
      facilitator: deps.facilitator,
      issuer: deps.issuer,
      maxFeeStroops: deps.maxFeeStroops,
      ledgerSeconds: deps.ledgerSeconds,
      settlement,
      fulfilment,
      inFlight,
      resumeInBackground: (paymentId) => void this.recovery.resumeSafely(paymentId),
    });
  }

  requirementsFor(request: PaidRequest): PaymentRequirements {
    return this.checkout.requirementsFor(request);
  }

  /** One paid request: a 402 challenge, the card, or why not. */
  handle(call: PaidCall): Promise<PaidOutcome> {
    return this.checkout.handle(call);
  }

  /** A purchase within a mandate (X-MANDATE-ID): the card, or why not. Throws when mandates are not served. */
  handleMandate(call: MandateCall): Promise<PaidOutcome> {
    if (!this.mandateCheckout) throw new Error('this payment service has no mandates');
    return this.mandateCheckout.handle(call);
  }

  get servesMandates(): boolean {
    return this.mandateCheckout !== undefined;
  }

  /** Drives one unfinished payment as far as it can go now. Returns its status afterwards. */
  resume(paymentId: string): Promise<PaymentStatus | undefined> {
    return this.recovery.resume(paymentId);
  }

  /**
   * One reconciler pass (also the start-up recovery): every unfinished payment, then every closed
   * card whose balance is still owed to its owner (counted as `closure_refunded` / `closure_owed`).
   */
  async reconcile(): Promise<Record<string, number>> {
    const counts = await this.recovery.reconcile();
    const closures = await this.closureRefunds.resumeAll();
    if (closures.refunded > 0) counts.closure_refunded = closures.refunded;
    if (closures.owed > 0) counts.closure_owed = closures.owed;
    return counts;
  }

  /** Runs reconcile() every `intervalMs` until stopped; never overlaps itself. */
  startReconciler(intervalMs: number): { stop(): Promise<void> } {
    return repeatEvery(intervalMs, () => this.reconcile(), (err) => this.deps.logger.error('reconciler pass failed', { err }));
  }

  /**
   * Graceful shutdown: waits (at most `timeoutMs`) until no payment is being settled or resumed
   * here. Returns how many were still in flight when it gave up (0: drained).
   */
  async drain(timeoutMs: number): Promise<number> {
    await this.inFlight.whenIdle(timeoutMs);
    return this.inFlight.size;
  }

  async paymentStatus(paymentId: string): Promise<PaymentRow | undefined> {
    return findPayment(this.deps.db, paymentId);
  }
}
