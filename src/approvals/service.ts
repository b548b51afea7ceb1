import type { Clock } from '../clock.js';
import { balancesForCards, findCard } from '../cards/repository.js';
import type { Db } from '../db/open.js';
import type { PaymentRequestRow, PaymentRow } from '../db/schema.js';
import { DomainError } from '../errors.js';
import type { Price } from '../protocol/money/pricing.js';
import { centsToDollarNumber, formatAtomic } from '../protocol/money/units.js';
import type {
  ApprovalPrepared,
  ApprovalView,
  CreatedPaymentRequest,
  PaymentRequestStatus,
  PaymentRequestView,
  QuotedPrice,
} from '../protocol/payment-requests.js';
import { buildPaymentRequired } from '../x402/challenge.js';
import { ownerApproved } from '../payments/products/owner-approved.js';
import type { PaymentService } from '../payments/service.js';
import type { PaidOutcome } from '../payments/types.js';
import { prepareExactTransfer, PrepareError, type TransferSimulator } from './prepare.js';
import { findPaymentRequest, insertPaymentRequest, rejectPaymentRequest } from './repository.js';
import { isAnswerable, requestStatus } from './state.js';
import { approvalTokenMatches, hashApprovalToken, newApprovalToken, newPaymentRequestId } from './tokens.js';

export interface PaymentRequestServiceDeps {
  db: Db;
  clock: Clock;
  payments: PaymentService;
  /** Where approval links point (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  /** How long a request may be answered (PAYMENT_REQUEST_TTL_SECONDS). */
  ttlSeconds: number;
}

/** A new request as the route validated and priced it. */
export type NewPaymentRequest = { price: Price; ownerAddress?: string | undefined; note?: string | undefined } & (
  | { kind: 'create'; nameOnCard: string; email: string }
  | { kind: 'fund'; cardId: string }
);

const iso = (ms: number) => new Date(ms).toISOString();

export function approvalPath(id: string): string {
  return `/approve/${id}`;
}

/**
 * Payment requests (issue 16): the agent asks, the owner approves (and pays, through the
 * owner-approved product on the payments seam) or rejects from a link, the agent polls. The
 * approval token authorises exactly one thing: answering (and reading) its own request.
 */
export class PaymentRequestService {
  constructor(private readonly deps: PaymentRequestServiceDeps) {}

  async create(agent: string, input: NewPaymentRequest): Promise<CreatedPaymentRequest> {
    if (input.kind === 'fund') {
      // The agent may ask its owner to fund a card it holds or owns; anyone else's card is 404.
      const card = await findCard(this.deps.db, input.cardId);
      if (!card || (card.agent_address !== agent && card.owner_address !== agent)) throw new DomainError('card_not_found', 'card not found');
      if (card.status === 'closed') throw new DomainError('card_closed', 'this card is closed and cannot be funded');
    }
    const nowMs = this.deps.clock.nowMs();
    const id = newPaymentRequestId();
    const token = newApprovalToken();
    const row = {
      id,
      agent_address: agent,
      owner_address: input.ownerAddress ?? null,
      kind: input.kind,
      load_cents: input.price.loadCents,
      card_fee_cents: input.price.cardFeeCents,
      top_up_fee_cents: input.price.topUpFeeCents,
      total_cents: input.price.totalCents,
      amount_atomic: input.price.totalAtomic.toString(),
      body_json: JSON.stringify(input.kind === 'create' ? { nameOnCard: input.nameOnCard, email: input.email } : { cardId: input.cardId }),
      note: input.note ?? null,
      token_hash: hashApprovalToken(token),
      status: 'pending' as const,
      payment_id: null,
      approver_address: null,
      card_id: null,
      expires_at: nowMs + this.deps.ttlSeconds * 1000,
      answered_at: null,
      created_at: nowMs,
      updated_at: nowMs,
    };
    await insertPaymentRequest(this.deps.db, row);
    return {
      id,
      status: 'approval_required',
      kind: input.kind,
      price: quotedPrice(row),
      approvalUrl: `${this.deps.publicBaseUrl}${approvalPath(id)}?token=${token}`,
      expiresAt: iso(row.expires_at),
    };
  }

  /** The agent's view; another agent's request is not found, as an unknown one. */
  async viewForAgent(agent: string, id: string): Promise<PaymentRequestView> {
    const row = await findPaymentRequest(this.deps.db, id);
    if (!row || row.agent_address !== agent) throw notFound();
    const payment = row.payment_id ? await this.deps.payments.paymentStatus(row.payment_id) : undefined;
    const status = requestStatus(row, payment?.status, this.deps.clock.nowMs());
    const cardId = status === 'completed' ? row.card_id : null;
    let card: PaymentRequestView['card'] = null;
    if (cardId) {
      const found = await findCard(this.deps.db, cardId);
      if (found) {
        const balanceCents = (await balancesForCards(this.deps.db, [cardId], this.deps.clock.nowMs())).get(cardId) ?? 0;
        card = {
          cardId,
          nameOnCard: found.name_on_card,
          lastFour: found.last_four,
          balance: centsToDollarNumber(balanceCents),
          balanceCents,
          status: found.status,
          ownerAddress: found.owner_address,
        };
      }
    }
    return {
      id: row.id,
      kind: row.kind,
      status,
      agentAddress: row.agent_address,
      ownerAddress: row.owner_address,
      approverAddress: payment && status !== 'pending' && status !== 'expired' ? row.approver_address : null,
      price: quotedPrice(row),
      requested: JSON.parse(row.body_json) as PaymentRequestView['requested'],
      note: row.note,
      ...paymentRefs(status, payment),
      cardId,
      card,
      expiresAt: iso(row.expires_at),
      createdAt: iso(row.created_at),
      updatedAt: iso(Math.max(row.updated_at, payment?.updated_at ?? 0)),
    };
  }

  /** What the owner reviews, read with the token alone. */
  async viewForToken(id: string, token: string): Promise<ApprovalView> {
    const { row, payment, status } = await this.withToken(id, token);
    const terms = this.deps.payments.terms;
    const refs = paymentRefs(status, payment);
    return {
      id: row.id,
      kind: row.kind,
      status,
      agentAddress: row.agent_address,
      ownerAddress: row.owner_address,
      price: quotedPrice(row),
      payTo: terms.payTo,
      network: terms.network,
      asset: terms.asset,
      requested: JSON.parse(row.body_json) as ApprovalView['requested'],
      note: row.note,
      cardId: status === 'completed' ? row.card_id : null,
      txHash: refs.txHash,
      refundTxHash: refs.refundTxHash,
      expiresAt: iso(row.expires_at),
    };
  }

  async reject(id: string, token: string): Promise<{ id: string; status: PaymentRequestStatus }> {
    const { status } = await this.withToken(id, token);
    if (!isAnswerable(status)) throw closed(status);
    if (!(await rejectPaymentRequest(this.deps.db, id, this.deps.clock.nowMs()))) {
      const again = await this.withToken(id, token);
      throw closed(again.status);
    }
    return { id, status: 'rejected' };
  }

  /**
   * The owner's payment for the request: without a payment, the 402 challenge for exactly the quoted
   * price (only while the request can be answered); with one, the purchase through the payments
   * seam, where the payment claims the request before anything is sent. A payment resent after the
   * request completed is answered as a replay (the first result, no second charge).
   */
  async approve(args: { id: string; token: string; paymentHeader?: string | undefined; resourceUrl: string }): Promise<PaidOutcome> {
    const { row, status } = await this.withToken(args.id, args.token);
    if (!args.paymentHeader && !isAnswerable(status)) throw closed(status);
    if (args.paymentHeader && (status === 'rejected' || status === 'expired')) throw closed(status);
    if (isAnswerable(status)) await this.assertFundable(row);
    return this.deps.payments.handle({
      request: { product: ownerApproved, price: priceOf(row), body: { requestId: row.id } },
      resourceUrl: args.resourceUrl,
      paymentHeader: args.paymentHeader,
    });
  }

  /**
   * The unsigned transfer a browser wallet signs (the approval page): the 402 requirements for the
   * quoted price and the simulated transfer from `payer`. A request that names its owner is paid
   * by that wallet only.
   */
  async prepare(args: { id: string; token: string; payer: string; resourceUrl: string }): Promise<ApprovalPrepared> {
    const { row, status } = await this.withToken(args.id, args.token);
    if (!isAnswerable(status)) throw closed(status);
    await this.assertFundable(row);
    if (row.owner_address && row.owner_address !== args.payer) throw new DomainError('payment_request_wrong_payer', 'this request can only be approved by the wallet the agent named as owner');
    const payments = this.deps.payments;
    const simulator = payments.simulator;
    if (!simulator) throw new DomainError('network_unavailable', 'the payment network is unreachable', { retryAfterSeconds: 5 });
    const requirements = payments.requirementsFor({ product: ownerApproved, price: priceOf(row), body: { requestId: row.id } });
    let prepared;
    try {
      prepared = await prepareExactTransfer({ simulator, requirements, payer: args.payer, networkPassphrase: payments.networkPassphrase, ledgerSeconds: payments.ledgerSeconds });
    } catch (err) {
      if (err instanceof PrepareError) throw new DomainError('payment_request_unpayable', err.message);
      throw new DomainError('network_unavailable', 'the payment network is unreachable', { retryAfterSeconds: 5 });
    }
    return {
      paymentRequired: buildPaymentRequired({ resourceUrl: args.resourceUrl, description: ownerApproved.description, requirements }) as unknown as Record<string, unknown>,
      transaction: prepared.transaction,
      networkPassphrase: payments.networkPassphrase,
      expirationLedger: prepared.expirationLedger,
    };
  }

  /** A top-up of a card closed since the request was made is refused before anything is asked for. */
  private async assertFundable(row: PaymentRequestRow): Promise<void> {
    if (row.kind !== 'fund') return;
    const { cardId } = JSON.parse(row.body_json) as { cardId: string };
    if ((await findCard(this.deps.db, cardId))?.status === 'closed') throw new DomainError('card_closed', 'this card is closed and cannot be funded; nothing was charged');
  }

  /** The request, if `token` is its token: anything else (unknown id, wrong token) is one 404. */
  private async withToken(id: string, token: string): Promise<{ row: PaymentRequestRow; payment: PaymentRow | undefined; status: PaymentRequestStatus }> {
    const row = await findPaymentRequest(this.deps.db, id);
    if (!row || !approvalTokenMatches(row.token_hash, token)) throw notFound();
    const payment = row.payment_id ? await this.deps.payments.paymentStatus(row.payment_id) : undefined;
    return { row, payment, status: requestStatus(row, payment?.status, this.deps.clock.nowMs()) };
  }
}

function notFound(): DomainError {
  return new DomainError('payment_request_not_found', 'payment request not found');
}

function closed(status: PaymentRequestStatus): DomainError {
  return new DomainError('payment_request_closed', `this payment request is ${status} and can no longer be answered`, { status });
}

function priceOf(row: PaymentRequestRow): Price {
  return {
    loadCents: row.load_cents,
    cardFeeCents: row.card_fee_cents,
    topUpFeeCents: row.top_up_fee_cents,
    totalCents: row.total_cents,
    totalAtomic: BigInt(row.amount_atomic),
  };
}

function quotedPrice(row: Pick<PaymentRequestRow, 'amount_atomic' | 'total_cents' | 'load_cents' | 'card_fee_cents' | 'top_up_fee_cents'>): QuotedPrice {
  return {
    amountAtomic: row.amount_atomic,
    amount: formatAtomic(BigInt(row.amount_atomic)),
    totalCents: row.total_cents,
    loadCents: row.load_cents,
    cardFeeCents: row.card_fee_cents,
    topUpFeeCents: row.top_up_fee_cents,
    currency: 'USDC',
  };
}

/** The payment behind a request, once it counts (a failed attempt that moved no money is not shown). */
function paymentRefs(status: PaymentRequestStatus, payment: PaymentRow | undefined) {
  const shown = payment && payment.status !== 'failed' && status !== 'pending' && status !== 'expired' ? payment : undefined;
  return {
    paymentId: shown?.id ?? null,
    paymentStatus: shown?.status ?? null,
    txHash: shown?.settle_tx_hash ?? null,
    refundTxHash: shown?.refund_tx_hash ?? null,
  };
}
