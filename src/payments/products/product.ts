import type { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { CardDataCipher, CardDetails } from '../../cards/card-data.js';
import type { CardIssuer } from '../../cards/issuer.js';
import type { Executor } from '../../cards/repository.js';
import type { Db } from '../../db/open.js';
import type { PaymentRow } from '../../db/schema.js';
import type { PricingResult } from '../../protocol/money/pricing.js';

/**
 * A paid product (docs/ARCHITECTURE.md, "Where new things go"): everything that differs between
 * one thing card402 sells and another. Checkout, settlement, recovery and refunds are the same for
 * every product; a new one is one module registered in products/index.ts.
 */
export interface PaidProduct<Body = unknown> {
  /** Stored in payments.kind; never reused for another product. */
  readonly kind: string;
  /**
   * The paid route (hono path syntax), e.g. `/cards/create/tier/:amount`, priced by `price`. A
   * product without one is sold by its own service, which prices each purchase itself and calls
   * PaymentService.handle (e.g. owner-approved.ts: the price was quoted in a payment request).
   */
  readonly route?: string;
  /** x402 `resource.description` of the 402 challenge. */
  readonly description: string;
  /** The HTTP status of a fulfilled purchase (and of its replays). */
  readonly successStatus: 200 | 201;
  /** The request body, validated before any payment is asked for (400 names the field). */
  readonly body: z.ZodType<Body>;
  /** The success body's schema, for the OpenAPI document (the API's schema in protocol/api.ts). */
  readonly response?: z.ZodType;
  /** The exact price from the route's path parameters (a bad amount is 400, before any payment). */
  price?(params: Record<string, string>): PricingResult;
  /**
   * Whether the purchase may go ahead: asked before the 402 (payer unknown) and again once the
   * payment names its payer, before any money moves. `not_found` answers 404, as for an unknown card;
   * `card_closed` answers 409 CARD_CLOSED.
   */
  admit?(ctx: ProductContext, body: Body, payer?: string): Promise<Admission>;
  /**
   * Reserves what a new payment pays for, inside the db write that first records the payment (before
   * anything is sent). False refuses the payment: that write is rolled back, nothing is sent, and
   * the caller gets 409. A resent copy of a recorded payment never gets here (it is a replay).
   */
  claim?(trx: Executor, payment: PaymentRow, body: Body): Promise<boolean>;
  /**
   * Fulfils a settled payment. Work outside the database (the card issuer) happens here and must be
   * idempotent on `payment.id`; the returned `write` runs inside the one db transaction that also
   * marks the payment fulfilled, so a crash leaves either both or neither.
   */
  prepare(ctx: ProductContext, payment: PaymentRow, body: Body): Promise<PreparedFulfilment>;
}

export type Admission = 'ok' | 'not_found' | 'card_closed';

export interface ProductContext {
  db: Db;
  clock: Clock;
  issuer: CardIssuer;
  cipher: CardDataCipher;
}

export interface PreparedFulfilment {
  /** Writes of the fulfilment transaction; returns the card it links (if any) and the response body. */
  write(trx: Executor, nowMs: number): Promise<{ cardId: string | null; body: Record<string, unknown> }>;
  /** Card data handed over once, in the first response only; never stored with the payment. */
  details?: CardDetails;
}

/** The products a server sells, by kind. */
export class ProductRegistry {
  private readonly byKind = new Map<string, PaidProduct>();

  constructor(readonly products: readonly PaidProduct[]) {
    for (const product of products) {
      if (this.byKind.has(product.kind)) throw new Error(`two paid products share the kind ${product.kind}`);
      this.byKind.set(product.kind, product);
    }
  }

  get(kind: string): PaidProduct | undefined {
    return this.byKind.get(kind);
  }
}

/** Identity with the body type inferred from the schema, so a product module type-checks as one piece. */
export function defineProduct<Body>(product: PaidProduct<Body>): PaidProduct<Body> {
  return product;
}
