import { createDecipheriv, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { Account, Keypair, Operation, TransactionBuilder, nativeToScVal, rpc, scValToNative } from '@stellar/stellar-sdk';
import * as Api from '../protocol/api.js';
import * as Spending from '../protocol/spending.js';
import * as Requests from '../protocol/payment-requests.js';
import { NETWORK_PASSPHRASES, USDC_CONTRACTS, type StellarNetwork } from '../protocol/networks.js';
import { priceCardCreation, priceCardFunding, type PricingResult } from '../protocol/money/pricing.js';
import { ATOMIC_PER_USDC } from '../protocol/money/units.js';
import { AGENT_PUBKEY_HEADER, agentKeyPair, encodeAgentPublicKey, openSealed, sealedDetailsResponseSchema, type SealedBox } from '../protocol/sealed.js';
import { SorobanPayerRpc } from './soroban-rpc.js';
import { parsePaymentRequired, selectRequirement, type PaymentRequirements } from './challenge.js';
import {
  ApiError,
  Card402Error,
  InsufficientBalanceError,
  PaymentError,
  PaymentRefusedError,
  TimeoutError,
  isRecord,
} from './errors.js';
import { walletAuthHeadersV2, type WalletSigner } from './wallet-auth.js';
import { MANDATE_ID_HEADER, mandateApprovalSchema, mandateSchema, type CreateMandateRequest, type MandateApproval, type MandateView } from '../protocol/mandates.js';
import { signApproveEntry } from './mandate-approval.js';
import { PLACEHOLDER_SOURCE, createExactPayment, encodePayment } from './x402-payer.js';

export interface SpendLimits {
  /** Largest single payment, in USDC atomic units. Default 5,200 USDC (the largest price there is). */
  maxPaymentAtomic?: bigint;
  /** Total this client may spend over its lifetime, in USDC atomic units. Default 100 USDC. */
  spendCapAtomic?: bigint;
}

export type PaymentProgress =
  | { stage: 'challenge'; amountAtomic: bigint; payTo: string }
  | { stage: 'signing' }
  | { stage: 'submitting'; attempt: number }
  | { stage: 'waiting'; reason: string; retryInMs: number };

export interface Card402ClientOptions {
  baseUrl: string;
  /** The wallet: a secret seed (S...) or a signer such as a stellar-sdk Keypair. */
  secretKey?: string;
  signer?: Keypair;
  /** Soroban RPC used to build payments; http is fine for the local ledger. */
  rpcUrl?: string;
  network?: StellarNetwork;
  /** The USDC contract to pay with. Default: Circle's USDC for the network (what the local ledger serves). */
  asset?: string;
  /** Pinned treasury. Unset: the first payTo seen is trusted and pinned for later payments. */
  payTo?: string;
  /** Called once when a payTo is first pinned, so a caller can persist it. */
  onPayToPinned?: (payTo: string) => void;
  limits?: SpendLimits;
  /** Per HTTP request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Overall time to get a paid request through, resends included. Default 120 s. */
  paymentTimeoutMs?: number;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  onProgress?: (event: PaymentProgress) => void;
}

const DEFAULT_MAX_PAYMENT_ATOMIC = 5_200n * ATOMIC_PER_USDC;
const DEFAULT_SPEND_CAP_ATOMIC = 100n * ATOMIC_PER_USDC;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_PAYMENT_TIMEOUT_MS = 120_000;
const MAX_RETRY_DELAY_MS = 5_000;
/** How long an owner's signed mandate entry stays usable, in ledgers (about 5 minutes at 5 s). */
const MANDATE_SIGNATURE_LEDGERS = 60;

interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * The card402 SDK. Paying calls check the 402 before signing anything (network, asset, exact
 * price computed locally, pinned treasury, limits) and, once a payment is signed, only ever
 * resend that same payment: a lost response never turns into a second charge.
 */
export class Card402Client {
  readonly baseUrl: string;
  readonly network: StellarNetwork;
  readonly asset: string;
  private readonly signer: Keypair | undefined;
  private readonly fetchFn: (input: string, init: RequestInit) => Promise<Response>;
  private payTo: string | undefined;
  private spentAtomic = 0n;

  constructor(private readonly opts: Card402ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.network = opts.network ?? 'stellar:testnet';
    this.asset = opts.asset ?? USDC_CONTRACTS[this.network];
    this.signer = opts.signer ?? (opts.secretKey ? Keypair.fromSecret(opts.secretKey) : undefined);
    this.payTo = opts.payTo;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  get address(): string {
    return this.requireSigner().publicKey();
  }

  /** USDC atomic units this client has committed to payments so far. */
  get spent(): bigint {
    return this.spentAtomic;
  }

  get pinnedPayTo(): string | undefined {
    return this.payTo;
  }

  // --- public endpoints ---

  health(): Promise<Api.Health> {
    return this.json(Api.healthSchema, 'GET', '/health');
  }

  pricing(): Promise<Api.Pricing> {
    return this.json(Api.pricingSchema, 'GET', '/pricing');
  }

  // --- paid endpoints ---

  async createCard(input: { amount: string | number; nameOnCard: string; email: string; ownerAddress?: string }): Promise<Api.CreateCardResult> {
    const amount = amountText(input.amount);
    const body: Api.CreateCardRequest = { nameOnCard: input.nameOnCard, email: input.email, ...(input.ownerAddress ? { ownerAddress: input.ownerAddress } : {}) };
    return this.paid(Api.createCardResultSchema, `/cards/create/tier/${amount}`, body, priceCardCreation(amount));
  }

  async fundCard(cardId: string, amount: string | number): Promise<Api.FundCardResult> {
    const text = amountText(amount);
    const body: Api.FundCardRequest = { cardId };
    return this.paid(Api.fundCardResultSchema, `/cards/fund/tier/${text}`, body, priceCardFunding(text));
  }

  // --- mandates (issue 17) ---

  /** As the agent: asks `ownerAddress` for a mandate; the owner approves it from `approvalUrl`. */
  requestMandate(input: CreateMandateRequest): Promise<MandateView> {
    return this.signed(mandateSchema, 'POST', '/mandates', input);
  }

  /** As its agent or its owner: the mandate, its spending per period and the allowance left on-chain. */
  getMandate(id: string): Promise<MandateView> {
    return this.signed(mandateSchema, 'GET', `/mandates/${encodeURIComponent(id)}`);
  }

  /** The approve the owner is asked to sign (public: the approval link is the capability). */
  mandateApproval(id: string): Promise<MandateApproval> {
    return this.json(mandateApprovalSchema, 'GET', `/mandates/${encodeURIComponent(id)}/approval`);
  }

  /**
   * As the owner: signs the authorization entry of the mandate's `approve` and hands it to card402,
   * which submits it (and pays the fee). Refuses to sign unless the approve is exactly what the
   * mandate shows: this wallet as `from`, the mandate's spender and allowance, our USDC contract.
   */
  async approveMandate(id: string): Promise<MandateView> {
    const signer = this.requireSigner();
    const [mandate, approval] = await Promise.all([this.getMandate(id), this.mandateApproval(id)]);
    const mismatch =
      approval.from !== signer.publicKey() ? 'the approve is not for this wallet' :
      approval.spender !== mandate.spender ? 'the spender differs from the mandate' :
      approval.amountAtomic !== mandate.allowanceAtomic ? 'the amount differs from the mandate allowance' :
      approval.contract !== this.asset ? 'the token is not the expected USDC contract' :
      approval.networkPassphrase !== this.passphrase ? 'the network differs' : undefined;
    if (mismatch) throw new Card402Error(`refusing to sign the mandate approval: ${mismatch}`);
    const authEntry = await signApproveEntry(
      { contract: approval.contract, from: approval.from, spender: approval.spender, amountAtomic: BigInt(approval.amountAtomic), liveUntilLedger: approval.liveUntilLedger },
      signer,
      approval.latestLedger + MANDATE_SIGNATURE_LEDGERS,
      this.passphrase,
    );
    const res = await this.send('POST', `/mandates/${encodeURIComponent(id)}/approval`, JSON.stringify({ authEntry }), {});
    if (res.status >= 400) throw new ApiError(res.status, res.body);
    return parseBody(mandateSchema, res.body, 'POST', `/mandates/${id}/approval`);
  }

  /**
   * As the owner: ends the mandate. With `onChain` (default), also signs `approve(owner, spender, 0, 0)`
   * so card402 clears the allowance on the ledger (needs rpcUrl for the current ledger).
   */
  async revokeMandate(id: string, opts: { onChain?: boolean } = {}): Promise<MandateView> {
    const signer = this.requireSigner();
    let body: { authEntry?: string } = {};
    if (opts.onChain ?? true) {
      const mandate = await this.getMandate(id);
      const latest = await this.rpc().latestLedger();
      const authEntry = await signApproveEntry({ contract: mandate.asset, from: signer.publicKey(), spender: mandate.spender, amountAtomic: 0n, liveUntilLedger: 0 }, signer, latest + MANDATE_SIGNATURE_LEDGERS, this.passphrase);
      body = { authEntry };
    }
    return this.signed(mandateSchema, 'DELETE', `/mandates/${encodeURIComponent(id)}`, body);
  }

  /** As the agent: a card paid from a mandate (the owner's allowance), no x402 payment. */
  createCardWithMandate(mandateId: string, input: { amount: string | number; nameOnCard: string; email: string }): Promise<Api.CreateCardResult> {
    const body: Api.CreateCardRequest = { nameOnCard: input.nameOnCard, email: input.email };
    return this.signed(Api.createCardResultSchema, 'POST', `/cards/create/tier/${amountText(input.amount)}`, body, { [MANDATE_ID_HEADER]: mandateId, 'Idempotency-Key': randomUUID() });
  }

  /** As the agent: a top-up paid from a mandate. */
  fundCardWithMandate(mandateId: string, cardId: string, amount: string | number): Promise<Api.FundCardResult> {
    const body: Api.FundCardRequest = { cardId };
    return this.signed(Api.fundCardResultSchema, 'POST', `/cards/fund/tier/${amountText(amount)}`, body, { [MANDATE_ID_HEADER]: mandateId, 'Idempotency-Key': randomUUID() });
  }

  // --- wallet-signed endpoints ---

  /** The cards this wallet holds (bought), as ASG lists them. */
  listCards(): Promise<Api.CardList> {
    return this.signed(Api.cardListSchema, 'GET', '/cards');
  }

  /** Cards other wallets bought and named this wallet owner of; the payer chose that, not this wallet. */
  listAssignedCards(): Promise<Api.AssignedCardList> {
    return this.signed(Api.assignedCardListSchema, 'GET', '/cards?role=owner');
  }

  getCard(cardId: string): Promise<Api.CardResponse> {
    return this.signed(Api.cardResponseSchema, 'GET', `/cards/${encodeURIComponent(cardId)}`);
  }

  /**
   * Reads the card number and CVV; each call spends a fresh UUIDv4 nonce (5 per card per hour for
   * each of its holder and owner, over every card data path). Sealed by default: the request
   * carries a one-time X25519 public key (X-AGENT-PUBKEY), the answer holds only a nacl.box, and it
   * is opened here; `{ sealed: false }` asks for the plain answer, as ASG clients get it.
   */
  getDetails(cardId: string, opts: { sealed?: boolean } = {}): Promise<Api.CardDetailsResponse> {
    return this.getDetailsWithNonce(cardId, randomUUID(), opts);
  }

  /** As getDetails, with a caller-chosen nonce (to show that a replayed nonce is refused). */
  async getDetailsWithNonce(cardId: string, nonce: string, opts: { sealed?: boolean } = {}): Promise<Api.CardDetailsResponse> {
    const path = `/cards/${encodeURIComponent(cardId)}/details`;
    if (opts.sealed === false) return this.signed(Api.cardDetailsResponseSchema, 'GET', path, undefined, { 'X-AGENT-NONCE': nonce });
    const keys = agentKeyPair();
    const answer = await this.signed(sealedDetailsResponseSchema, 'GET', path, undefined, { 'X-AGENT-NONCE': nonce, [AGENT_PUBKEY_HEADER]: encodeAgentPublicKey(keys.publicKey) });
    return { details: openDetails(answer.sealed, keys.secretKey, 'GET', path) };
  }

  freeze(cardId: string): Promise<Api.StatusChange> {
    return this.signed(Api.statusChangeSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/freeze`);
  }

  unfreeze(cardId: string): Promise<Api.StatusChange> {
    return this.signed(Api.statusChangeSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/unfreeze`);
  }

  revokeDetails(cardId: string): Promise<Api.DetailsRevocation> {
    return this.signed(Api.detailsRevocationSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/revoke-details`);
  }

  restoreDetails(cardId: string): Promise<Api.DetailsRevocation> {
    return this.signed(Api.detailsRevocationSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/restore-details`);
  }

  // --- closing a card (issue #13) ---

  /**
   * Closes the card for good (owner only) and has its available balance sent back on-chain, in
   * USDC, to the owner. One Idempotency-Key for every attempt of this call, so a resend after a lost
   * answer gets the first answer. `closure.refund.status`: `sent` (with `txHash`), `pending` (the
   * server keeps sending it; see getCard later) or `none` (zero balance).
   */
  closeCard(cardId: string): Promise<Api.CloseCardResult> {
    return this.signed(Api.closeCardResultSchema, 'DELETE', `/cards/${encodeURIComponent(cardId)}`, undefined, { 'Idempotency-Key': randomUUID() });
  }

  /** Newest first; page with `page` (1-based, ASG) or with a previous answer's `nextCursor`, not both. */
  transactions(cardId: string, page: { limit?: number; cursor?: string; page?: number } = {}): Promise<Api.TransactionsPage> {
    const query = new URLSearchParams();
    if (page.page !== undefined) query.set('page', String(page.page));
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.cursor !== undefined) query.set('cursor', page.cursor);
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.signed(Api.transactionsPageSchema, 'GET', `/cards/${encodeURIComponent(cardId)}/transactions${suffix}`);
  }

  balance(cardId: string): Promise<Api.BalanceResponse> {
    return this.signed(Api.balanceResponseSchema, 'GET', `/cards/${encodeURIComponent(cardId)}/balance`);
  }

  payment(paymentId: string): Promise<Api.PaymentStatus> {
    return this.signed(Api.paymentStatusSchema, 'GET', `/payments/${encodeURIComponent(paymentId)}`);
  }

  // --- cards that spend (issue #13): controls, sandbox card network ---

  /** PATCH /cards/:cardId: status (active | locked), limits, categories, merchants, expiresAt. The holder may only tighten. */
  updateControls(cardId: string, patch: Spending.CardControlsPatch): Promise<Spending.ControlsResponse> {
    return this.signed(Spending.controlsResponseSchema, 'PATCH', `/cards/${encodeURIComponent(cardId)}`, patch);
  }

  /** Sets the card's limit for one frequency (replacing any limit of that frequency), keeping its other limits. */
  async setLimit(cardId: string, limit: Spending.SpendLimit): Promise<Spending.ControlsResponse> {
    const { card } = await this.getCard(cardId);
    const limits = [...(card.controls?.limits ?? []).filter((l) => l.frequency !== limit.frequency), limit];
    return this.updateControls(cardId, { limits });
  }

  /** POST /sandbox/authorizations: what a merchant's acquirer sends (no wallet signature). */
  sandboxAuthorize(request: Spending.SandboxAuthorizationRequest): Promise<Spending.AuthorizationResponse> {
    return this.unsignedPost(Spending.authorizationResponseSchema, '/sandbox/authorizations', request);
  }

  /**
   * Charges one of this wallet's own cards on the sandbox network: reads its card data with a signed
   * details request (one details nonce), presents it as a merchant would, and returns only the
   * authorization: the card data never leaves this method.
   */
  async sandboxCharge(cardId: string, charge: { amount: string | number; merchant: Spending.Merchant; currency?: string }): Promise<Spending.AuthorizationResponse> {
    const { details } = await this.getDetails(cardId);
    return this.sandboxAuthorize({
      cardNumber: details.cardNumber,
      expiryMonth: details.expiryMonth,
      expiryYear: details.expiryYear,
      cvv: details.cvv,
      amount: charge.amount,
      currency: charge.currency ?? 'USD',
      merchant: charge.merchant,
    });
  }

  sandboxCapture(authorizationId: string, amount?: string | number): Promise<Spending.AuthorizationResponse> {
    return this.unsignedPost(Spending.authorizationResponseSchema, `/sandbox/authorizations/${encodeURIComponent(authorizationId)}/capture`, amount === undefined ? {} : { amount });
  }

  sandboxReverse(authorizationId: string): Promise<Spending.AuthorizationResponse> {
    return this.unsignedPost(Spending.authorizationResponseSchema, `/sandbox/authorizations/${encodeURIComponent(authorizationId)}/reverse`, undefined);
  }

  sandboxRefund(authorizationId: string, amount: string | number): Promise<Spending.AuthorizationResponse> {
    return this.unsignedPost(Spending.authorizationResponseSchema, `/sandbox/authorizations/${encodeURIComponent(authorizationId)}/refund`, { amount });
  }

  // --- card data paths: card sessions, secrets sessions (issue #14) ---

  /** A card session (holder or owner): its redeem token is in this answer only; hand it to whoever should redeem. */
  createCardSession(cardId: string, opts: Api.CreateCardSessionRequest = {}): Promise<Api.CreatedCardSession> {
    return this.signed(Api.createdCardSessionSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/sessions`, opts);
  }

  getCardSession(sessionId: string): Promise<Api.CardSessionResponse> {
    return this.signed(Api.cardSessionResponseSchema, 'GET', `/card-sessions/${encodeURIComponent(sessionId)}`);
  }

  cardSessionRedemptions(sessionId: string): Promise<Api.CardSessionRedemptions> {
    return this.signed(Api.cardSessionRedemptionsSchema, 'GET', `/card-sessions/${encodeURIComponent(sessionId)}/redemptions`);
  }

  /**
   * Redeems a card session with its token alone (no wallet needed). Sealed by default, as
   * getDetails: the details travel only as a nacl.box to a one-time key and are opened here.
   */
  async redeemCardSession(sessionId: string, redeemToken: string, opts: { sealed?: boolean } = {}): Promise<Api.RedeemedCardSession> {
    const path = `/card-sessions/${encodeURIComponent(sessionId)}/redeem`;
    const headers: Record<string, string> = { 'X-Scoped-Token': redeemToken };
    if (opts.sealed === false) {
      const res = await this.send('POST', path, undefined, headers);
      if (res.status >= 400) throw new ApiError(res.status, res.body);
      return parseBody(Api.redeemedCardSessionSchema, res.body, 'POST', path);
    }
    const keys = agentKeyPair();
    const res = await this.send('POST', path, undefined, { ...headers, [AGENT_PUBKEY_HEADER]: encodeAgentPublicKey(keys.publicKey) });
    if (res.status >= 400) throw new ApiError(res.status, res.body);
    const answer = parseBody(Api.sealedRedeemedCardSessionSchema, res.body, 'POST', path);
    return { session: answer.session, details: openDetails(answer.sealed, keys.secretKey, 'POST', path) };
  }

  /** A single-use secrets session: its 16-byte key (hex) is in this answer only. */
  createSecretsSession(): Promise<Api.SecretsSession> {
    return this.signed(Api.secretsSessionSchema, 'POST', '/cards/secrets/session');
  }

  /** The card's number and CVC under the secrets session's key (machines.cash's shape); see openSecrets. */
  cardSecrets(cardId: string, sessionId: string): Promise<Api.CardSecrets> {
    return this.signed(Api.cardSecretsSchema, 'POST', `/cards/${encodeURIComponent(cardId)}/secrets`, { sessionId } satisfies Api.RevealSecretsRequest);
  }

  /** A secrets session and its one use, decrypted here: the number and CVC cross the network only encrypted. */
  async readSecrets(cardId: string): Promise<{ cardNumber: string; cvv: string; expiryMonth: number; expiryYear: number; last4: string }> {
    const session = await this.createSecretsSession();
    const secrets = await this.cardSecrets(cardId, session.sessionId);
    return openSecrets(session.secretKey, secrets);
  }

  // --- payment requests (issue 16): the agent asks, its owner approves and pays from a link ---

  /** Asks the owner to pay for a new card held by this wallet; share `approvalUrl` with the owner. */
  requestCard(input: { amount: string | number; nameOnCard: string; email: string; ownerAddress?: string; note?: string }): Promise<Requests.CreatedPaymentRequest> {
    const body: Requests.CreatePaymentRequest = { kind: 'create', amount: amountText(input.amount), nameOnCard: input.nameOnCard, email: input.email, ...optionalRequestFields(input) };
    return this.signed(Requests.createdPaymentRequestSchema, 'POST', '/payment-requests', body);
  }

  /** Asks the owner to pay for a top-up of a card this wallet holds (or owns). */
  requestFunding(cardId: string, amount: string | number, opts: { ownerAddress?: string; note?: string } = {}): Promise<Requests.CreatedPaymentRequest> {
    const body: Requests.CreatePaymentRequest = { kind: 'fund', amount: amountText(amount), cardId, ...optionalRequestFields(opts) };
    return this.signed(Requests.createdPaymentRequestSchema, 'POST', '/payment-requests', body);
  }

  getPaymentRequest(id: string): Promise<Requests.PaymentRequestView> {
    return this.signed(Requests.paymentRequestViewSchema, 'GET', `/payment-requests/${encodeURIComponent(id)}`);
  }

  /**
   * Polls a request until it is completed, rejected, expired or failed (the card, when completed,
   * is in `card`). `onUpdate` sees every answer; throws TimeoutError after `timeoutMs` (default: none
   * beyond the request's own expiry, which ends it as `expired`).
   */
  async waitForRequest(
    id: string,
    opts: { timeoutMs?: number; intervalMs?: number; onUpdate?: (view: Requests.PaymentRequestView) => void } = {},
  ): Promise<Requests.PaymentRequestView> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    for (;;) {
      const view = await this.getPaymentRequest(id);
      opts.onUpdate?.(view);
      if (Requests.FINAL_PAYMENT_REQUEST_STATUSES.includes(view.status)) return view;
      const waitMs = opts.intervalMs ?? 2000;
      if (Date.now() + waitMs > deadline) throw new TimeoutError(`payment request ${id} is still ${view.status}`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** The owner's side: what an approval link asks for, read with its token. */
  getApproval(approvalUrl: string): Promise<Requests.ApprovalView> {
    const { id, token } = this.approvalLink(approvalUrl);
    return this.json(Requests.approvalViewSchema, 'GET', `/payment-requests/${id}/approval?token=${encodeURIComponent(token)}`);
  }

  /**
   * The owner's side: approves the request by paying it with this wallet. The 402 must ask for
   * exactly the price the link quotes (read first, or `expectedAmountAtomic` when the caller showed
   * it to a person), on the expected network and asset, to the pinned treasury, within the limits.
   */
  async approveRequest(approvalUrl: string, opts: { expectedAmountAtomic?: bigint } = {}): Promise<Requests.ApprovalResult> {
    const { id, token } = this.approvalLink(approvalUrl);
    const amountAtomic = opts.expectedAmountAtomic ?? BigInt((await this.getApproval(approvalUrl)).price.amountAtomic);
    const price: PricingResult = { ok: true, price: { loadCents: 0, cardFeeCents: 0, topUpFeeCents: 0, totalCents: 0, totalAtomic: amountAtomic } };
    const body: Requests.ApprovalAnswer = { action: 'approve', token };
    return this.paid(Requests.approvalResultSchema, `/payment-requests/${id}/approval`, body, price);
  }

  /** The owner's side: rejects the request; it can never be paid afterwards. */
  rejectRequest(approvalUrl: string): Promise<Requests.ApprovalResult> {
    const { id, token } = this.approvalLink(approvalUrl);
    const body: Requests.ApprovalAnswer = { action: 'reject', token };
    return this.unsignedPost(Requests.approvalResultSchema, `/payment-requests/${id}/approval`, body);
  }

  /** An approval link of this client's server (a link to another server is refused: its treasury is not pinned here). */
  private approvalLink(approvalUrl: string): { id: string; token: string } {
    const parts = Requests.parseApprovalUrl(approvalUrl);
    if (!parts) throw new Card402Error('not a card402 approval link (expected <server>/approve/pr_…?token=…)');
    if (parts.origin !== new URL(this.baseUrl).origin) throw new Card402Error(`the approval link is for ${parts.origin}, not for ${this.baseUrl}`);
    return parts;
  }

  // --- chain ---

  /** The wallet's (or any address's) USDC balance on the configured RPC, in atomic units. */
  async usdcBalance(address = this.address): Promise<bigint> {
    const server = this.rpc();
    const tx = new TransactionBuilder(new Account(PLACEHOLDER_SOURCE, '0'), { fee: '100', networkPassphrase: this.passphrase })
      .addOperation(Operation.invokeContractFunction({ contract: this.asset, function: 'balance', args: [nativeToScVal(address, { type: 'address' })] }))
      .setTimeout(30)
      .build();
    const sim = await server.simulateRaw(tx);
    if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) {
      // The SAC answers an error for an address that never held the asset: that is a zero balance.
      return 0n;
    }
    return BigInt(scValToNative(sim.result.retval) as bigint);
  }

  // --- internals ---

  private get passphrase(): string {
    return NETWORK_PASSPHRASES[this.network];
  }

  private rpc(): SorobanPayerRpc {
    if (!this.opts.rpcUrl) throw new Card402Error('rpcUrl is required to pay or read balances');
    return new SorobanPayerRpc(this.opts.rpcUrl);
  }

  private requireSigner(): Keypair {
    if (!this.signer) throw new Card402Error('a wallet (secretKey or signer) is required for this call');
    return this.signer;
  }

  private async send(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<RawResponse> {
    const timeoutMs = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    let response: Response;
    try {
      response = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new TimeoutError(`${method} ${path} got no answer within ${timeoutMs} ms`);
      }
      throw new Card402Error(`${method} ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: keep the text for the error message.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  private async json<S extends z.ZodType>(schema: S, method: string, path: string): Promise<z.output<S>> {
    const res = await this.send(method, path, undefined, {});
    if (res.status >= 400) throw new ApiError(res.status, res.body);
    return parseBody(schema, res.body, method, path);
  }

  private async unsignedPost<S extends z.ZodType>(schema: S, path: string, body: unknown): Promise<z.output<S>> {
    const res = await this.send('POST', path, body === undefined ? undefined : JSON.stringify(body), {});
    if (res.status >= 400) throw new ApiError(res.status, res.body);
    return parseBody(schema, res.body, 'POST', path);
  }

  private async signed<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<z.output<S>> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const auth = walletAuthHeadersV2(this.requireSigner() as WalletSigner, { method, url: path, body: text ?? null });
    const res = await this.send(method, path, text, { ...auth, ...extra });
    if (res.status >= 400) throw new ApiError(res.status, res.body);
    return parseBody(schema, res.body, method, path);
  }

  private async paid<S extends z.ZodType>(
    schema: S,
    path: string,
    body: Api.CreateCardRequest | Api.FundCardRequest | Requests.ApprovalAnswer,
    price: PricingResult,
  ): Promise<z.output<S>> {
    if (!price.ok) throw new Card402Error(`invalid amount: ${price.reason}`);
    const signer = this.requireSigner();
    const bodyText = JSON.stringify(body);
    // One idempotency key for every attempt of this purchase, so resends can only ever return it.
    const baseHeaders = { 'Idempotency-Key': randomUUID() };

    const first = await this.send('POST', path, bodyText, baseHeaders);
    if (first.status !== 402) {
      if (first.status >= 400) throw new ApiError(first.status, first.body);
      return parseBody(schema, first.body, 'POST', path);
    }
    const challenge = parsePaymentRequired(first.headers.get('PAYMENT-REQUIRED'), first.body);
    const requirement = this.checkChallenge(challenge, price.price.totalAtomic);
    this.opts.onProgress?.({ stage: 'challenge', amountAtomic: price.price.totalAtomic, payTo: requirement.payTo });

    await this.ensureFunds(signer.publicKey(), price.price.totalAtomic);
    this.opts.onProgress?.({ stage: 'signing' });
    const payload = await createExactPayment({ ...challenge, accepts: [requirement] }, {
      keypair: signer,
      networkPassphrase: this.passphrase,
      rpc: this.rpc(),
    });
    this.pin(requirement.payTo);
    // Counted from the moment it is signed: from here on the money may move.
    this.spentAtomic += price.price.totalAtomic;
    const paymentHeader = encodePayment(payload);
    return this.submitPaid(schema, path, bodyText, { ...baseHeaders, 'PAYMENT-SIGNATURE': paymentHeader }, price.price.totalAtomic);
  }

  private checkChallenge(challenge: ReturnType<typeof parsePaymentRequired>, amountAtomic: bigint): PaymentRequirements {
    const maxPayment = this.opts.limits?.maxPaymentAtomic ?? DEFAULT_MAX_PAYMENT_ATOMIC;
    const cap = this.opts.limits?.spendCapAtomic ?? DEFAULT_SPEND_CAP_ATOMIC;
    return selectRequirement(challenge, {
      network: this.network,
      asset: this.asset,
      amountAtomic,
      payTo: this.payTo,
      maxPaymentAtomic: maxPayment,
      remainingSpendAtomic: cap - this.spentAtomic,
    });
  }

  private pin(payTo: string): void {
    if (this.payTo !== undefined) return;
    this.payTo = payTo;
    this.opts.onPayToPinned?.(payTo);
  }

  private async ensureFunds(address: string, neededAtomic: bigint): Promise<void> {
    const available = await this.usdcBalance(address);
    if (available < neededAtomic) {
      throw new InsufficientBalanceError(neededAtomic, available, `wallet ${address} holds ${available} atomic USDC, this payment needs ${neededAtomic}`);
    }
  }

  /**
   * Sends the signed payment until the server gives a final answer. Network failures, timeouts and
   * 409 PAYMENT_IN_PROGRESS are answered by resending the SAME payment (the server deduplicates it);
   * a new payment is never signed here.
   */
  private async submitPaid<S extends z.ZodType>(schema: S, path: string, bodyText: string, headers: Record<string, string>, amountAtomic: bigint): Promise<z.output<S>> {
    const deadline = Date.now() + (this.opts.paymentTimeoutMs ?? DEFAULT_PAYMENT_TIMEOUT_MS);
    for (let attempt = 1; ; attempt++) {
      this.opts.onProgress?.({ stage: 'submitting', attempt });
      let res: RawResponse | undefined;
      let waitReason = '';
      try {
        res = await this.send('POST', path, bodyText, headers);
      } catch (err) {
        if (!(err instanceof Card402Error)) throw err;
        waitReason = err.message;
      }
      if (res) {
        if (res.status < 300) return parseBody(schema, res.body, 'POST', path);
        const code = isRecord(res.body) ? res.body.code : undefined;
        if (res.status === 402) {
          // Refused before settlement: no money moved.
          this.spentAtomic -= amountAtomic;
          throw new PaymentError(`payment was not accepted: ${describe(res.body)}`, { status: 402, body: res.body });
        }
        if (res.status === 502 || (res.status >= 500 && isRecord(res.body) && res.body.paymentId)) {
          throw new PaymentError(`paid, but the purchase is not complete yet: ${describe(res.body)}`, paymentRefs(res));
        }
        if (!(res.status === 409 && code === 'PAYMENT_IN_PROGRESS') && res.status !== 503) throw new ApiError(res.status, res.body);
        waitReason = code === 'PAYMENT_IN_PROGRESS' ? 'payment is settling' : describe(res.body);
      }
      const retryInMs = Math.min(retryAfterMs(res?.headers) ?? 1000 * attempt, MAX_RETRY_DELAY_MS);
      if (Date.now() + retryInMs > deadline) {
        throw new TimeoutError(`the payment did not complete in time (${waitReason}); it may still settle: call again to resend the same payment, or check it with payment(paymentId)`);
      }
      this.opts.onProgress?.({ stage: 'waiting', reason: waitReason, retryInMs });
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

/** A 2xx body read with the API's own schema (src/protocol/api.ts); anything else is not an answer this SDK can use. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown, method: string, path: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues.slice(0, 3).map((issue) => issue.path.join('.') || '(body)').join(', ');
  throw new Card402Error(`${method} ${path}: the server's answer does not match the card402 API (${where})`);
}

/** A sealed answer opened with the one-time secret key, read with the API's own schema. */
function openDetails(box: SealedBox, secretKey: Uint8Array, method: string, path: string): Api.CardDetailsView {
  let plain: unknown;
  try {
    plain = openSealed(box, secretKey);
  } catch (err) {
    throw new Card402Error(`${method} ${path}: the sealed answer does not open (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseBody(Api.cardDetailsViewSchema, plain, method, path);
}

function openField(keyHex: string, field: { data: string; iv: string }): string {
  const data = Buffer.from(field.data, 'base64');
  const decipher = createDecipheriv('aes-128-gcm', Buffer.from(keyHex, 'hex'), Buffer.from(field.iv, 'base64'));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

/** Decrypts a `cardSecrets` answer with the session's key (AES-128-GCM; data = ciphertext then tag). */
export function openSecrets(secretKeyHex: string, secrets: Api.CardSecrets): { cardNumber: string; cvv: string; expiryMonth: number; expiryYear: number; last4: string } {
  try {
    return {
      cardNumber: openField(secretKeyHex, secrets.encryptedPan),
      cvv: openField(secretKeyHex, secrets.encryptedCvc),
      expiryMonth: secrets.expirationMonth,
      expiryYear: secrets.expirationYear,
      last4: secrets.last4,
    };
  } catch {
    throw new Card402Error('the card secrets do not open with this session key');
  }
}

function optionalRequestFields(input: { ownerAddress?: string | undefined; note?: string | undefined }): { ownerAddress?: string; note?: string } {
  return { ...(input.ownerAddress ? { ownerAddress: input.ownerAddress } : {}), ...(input.note ? { note: input.note } : {}) };
}

/** The path form of an amount; pricing (checked in `paid` before any request) decides whether it is valid. */
function amountText(amount: string | number): string {
  return typeof amount === 'number' ? String(amount) : amount.trim();
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const value = headers?.get('Retry-After');
  if (!value || !/^\d+$/.test(value)) return undefined;
  return Number(value) * 1000;
}

function describe(body: unknown): string {
  if (isRecord(body) && typeof body.error === 'string') return body.code ? `${body.error} [${String(body.code)}]` : body.error;
  return typeof body === 'string' ? body.slice(0, 200) : 'no details';
}

function paymentRefs(res: RawResponse): { paymentId?: string; txHash?: string; status: number; body: unknown } {
  const body = isRecord(res.body) ? res.body : {};
  const payment = isRecord(body.payment) ? body.payment : {};
  const paymentId = typeof body.paymentId === 'string' ? body.paymentId : typeof payment.paymentId === 'string' ? payment.paymentId : undefined;
  const txHash = typeof body.txHash === 'string' ? body.txHash : typeof payment.txHash === 'string' ? payment.txHash : undefined;
  return { ...(paymentId ? { paymentId } : {}), ...(txHash ? { txHash } : {}), status: res.status, body: res.body };
}

export { PaymentRefusedError };
