import { ApiError, Card402Error, InsufficientBalanceError, PaymentError, PaymentRefusedError, TimeoutError, isRecord } from '../client/errors.js';
import { formatAtomic } from '../protocol/money/units.js';

/**
 * Every failure a tool reports, as the model sees it: a stable code (the API's own code when the
 * API refused), one line saying what happened, and the next step to take. Never a stack trace,
 * a secret or a payment payload.
 */
export interface ToolFailureView {
  code: string;
  message: string;
  nextStep: string;
  status?: number;
  paymentId?: string;
  txHash?: string;
  retryAfterSeconds?: number;
}

/** A refusal decided by the MCP server itself (bad input, a cap, no wallet), before anything is signed. */
export class ToolFailure extends Error {
  override name = 'ToolFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly nextStep: string,
    readonly extra: Partial<Pick<ToolFailureView, 'paymentId' | 'txHash'>> = {},
  ) {
    super(message);
  }
}

/** Next steps for the API's codes (src/http/kernel/errors.ts), by code. */
export const API_NEXT_STEPS: Record<string, string> = {
  CARD_NOT_FOUND: 'check the cardId with list_cards; a card bought by another wallet is not visible to this one',
  NOT_FOUND: 'check the id with list_cards (cards) or the paymentId a paying tool returned',
  VALIDATION_ERROR: 'fix the input named in the message and call again',
  INVALID_AMOUNT: 'use an amount of $5–$5,000 with at most two decimals (create_card also accepts 0); see get_pricing',
  BAD_REQUEST: 'fix the input and call again',
  OWNER_ONLY: "only the card's owner wallet may do this; ask the owner",
  DETAILS_REVOKED: "the owner revoked access to this card's details; ask the owner to restore them",
  DETAILS_RATE_LIMITED: "card details can be read 5 times per card per hour; wait, and use get_card for anything else",
  RATE_LIMITED: 'wait and call again',
  AUTH_EXPIRED: "the machine's clock is more than 5 minutes off; fix the clock and call again",
  AUTH_SIGNATURE_INVALID: 'the wallet file does not match the address; run `card402 doctor` in a terminal',
  AUTH_MALFORMED: 'run `card402 doctor` in a terminal; the MCP server and the API may be different versions',
  AUTH_REPLAYED: 'call again (a fresh signature is made for every call)',
  AUTH_RATE_LIMITED: 'too many failed signatures from this wallet; wait a few minutes',
  INVALID_NONCE: 'call again (a fresh nonce is made for every call)',
  REPLAY_REJECTED: 'call again (a fresh nonce is made for every call)',
  PAYMENT_IN_PROGRESS: 'the payment is still settling: wait, then check it with get_payment_status; do not buy again',
  PAYMENT_UNDER_REVIEW: 'a person must decide this payment; check it with get_payment_status and do not buy again',
  FULFILMENT_FAILED: 'the money moved but the card is not ready; it is retried or refunded automatically: check get_payment_status',
  CONFLICT: 'this payment was already used for another request; call the tool again to pay anew',
  SERVICE_UNAVAILABLE: 'the card issuer is at capacity; wait and try again later (no money moved)',
  INTERNAL_ERROR: 'try again later; if it persists, tell the operator the time of the failure',
  CARD_CLOSED: 'the card is closed for good (its balance went back to the owner); buy a new one with create_card',
  IDEMPOTENCY_KEY_IN_USE: 'the same request is still running: wait, then check list_cards or get_payment_status',
  IDEMPOTENCY_KEY_MISMATCH: 'call the tool again (each call makes a new key)',
  PAYMENT_REQUEST_NOT_FOUND: 'check the payment request id',
  PAYMENT_REQUEST_CLOSED: 'the payment request is no longer open (approved, rejected or expired): make a new one if still needed',
  WRONG_PAYER: 'only the owner named in the request may pay it',
  CARD_SESSION_NOT_FOUND: 'check the session id (cs_…) create_card_session returned; a session made by another wallet is not visible to this one',
  CARD_SESSION_NOT_REDEEMABLE: 'the session is used up or expired: make a new one with create_card_session',
  MANDATE_NOT_FOUND: 'check the mandateId (md_…) request_mandate returned; only the agent that asked can buy with it',
  MANDATE_NOT_ACTIVE: 'the owner has not approved it yet (give them the approvalUrl), or it expired: request a new mandate',
  MANDATE_RULE_EXCEEDED: "the mandate's rule does not allow this purchase now (see remaining); nothing was charged: wait for the next period or ask the owner",
  MANDATE_ALLOWANCE_EXHAUSTED: "the owner's on-chain allowance is used up; nothing was charged: ask the owner for a new mandate",
  MANDATE_REVOKED: 'the owner revoked this mandate; nothing was charged: do not retry, ask the owner',
  MANDATE_OWNER_FUNDS: "the owner's wallet holds too little USDC; nothing was charged: tell the owner",
};

function apiNextStep(status: number, code: string): string {
  const known = API_NEXT_STEPS[code];
  if (known) return known;
  if (status === 401) return 'run `card402 doctor` in a terminal to check the wallet and the clock';
  if (status === 404) return 'check the id with list_cards';
  if (status === 429) return 'wait and call again';
  if (status >= 500) return 'try again later';
  return 'fix the input and call again';
}

const REFUSAL_NEXT_STEPS: Record<PaymentRefusedError['reason'], string> = {
  over_payment_limit: 'ask the user to raise CARD402_MAX_PAYMENT in the MCP configuration, or use a smaller amount',
  over_spend_cap: 'ask the user to raise CARD402_SPEND_CAP in the MCP configuration (it counts per MCP session), or use a smaller amount',
  amount_mismatch: 'do not retry: the server asked for a different price than card402 computes; tell the user',
  unexpected_pay_to: 'do not retry: the server asked to pay a different treasury than the one pinned; tell the user',
  wrong_network: 'do not retry: the server is on a different Stellar network than CARD402_NETWORK; tell the user',
  wrong_asset: 'do not retry: the server asked for a different asset than USDC; tell the user',
  no_supported_requirement: 'do not retry: the server offers no payment this client can make; tell the user',
  malformed_challenge: 'do not retry: the server answered an invalid 402; tell the user',
};

function retryAfterOf(body: unknown): number | undefined {
  return isRecord(body) && typeof body.retryAfter === 'number' ? body.retryAfter : undefined;
}

/** Any error a tool can meet, as the view the model gets. Unknown errors say only their first line. */
export function failureView(err: unknown): ToolFailureView {
  if (err instanceof ToolFailure) return { code: err.code, message: err.message, nextStep: err.nextStep, ...err.extra };
  if (err instanceof ApiError) {
    const code = err.code ?? `HTTP_${err.status}`;
    const paymentId = isRecord(err.body) && typeof err.body.paymentId === 'string' ? err.body.paymentId : undefined;
    const retryAfterSeconds = retryAfterOf(err.body);
    return {
      code,
      status: err.status,
      message: err.message,
      nextStep: apiNextStep(err.status, code),
      ...(paymentId ? { paymentId } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
  }
  if (err instanceof PaymentRefusedError) {
    return { code: err.reason.toUpperCase(), message: `${err.message} (nothing was signed)`, nextStep: REFUSAL_NEXT_STEPS[err.reason] };
  }
  if (err instanceof InsufficientBalanceError) {
    const have = err.availableAtomic === undefined ? 'unknown' : `${formatAtomic(err.availableAtomic)} USDC`;
    return {
      code: 'INSUFFICIENT_BALANCE',
      message: `the wallet holds ${have}, this payment needs ${formatAtomic(err.neededAtomic)} USDC (nothing was signed)`,
      nextStep: 'call get_wallet_status for the deposit address; the user funds the wallet (`card402 wallet fund` on the local ledger)',
    };
  }
  if (err instanceof PaymentError) {
    return {
      code: 'PAYMENT_INCOMPLETE',
      message: err.message.split('\n')[0]!,
      nextStep: err.details.paymentId
        ? `check it with get_payment_status (paymentId ${err.details.paymentId}); do not buy again until it is final`
        : 'check list_cards before buying again: the payment may have gone through',
      ...(err.details.paymentId ? { paymentId: err.details.paymentId } : {}),
      ...(err.details.txHash ? { txHash: err.details.txHash } : {}),
      ...(err.details.status ? { status: err.details.status } : {}),
    };
  }
  if (err instanceof TimeoutError) {
    return {
      code: 'TIMEOUT',
      message: err.message.split('\n')[0]!,
      nextStep: 'do not pay again yet: check list_cards (and get_payment_status if you have a paymentId) first; a payment may still settle',
    };
  }
  if (err instanceof Card402Error) {
    return { code: 'REQUEST_FAILED', message: err.message.split('\n')[0]!, nextStep: 'check that the card402 API and the Soroban RPC are reachable: run `card402 doctor` in a terminal' };
  }
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return { code: 'UNEXPECTED', message: `unexpected failure: ${message}`, nextStep: 'run `card402 doctor` in a terminal to check the wallet, API and RPC' };
}

/** The codes the MCP server itself reports (beside the API's), with their next steps: for the skill file. */
export const LOCAL_CODES: Record<string, string> = {
  INVALID_INPUT: 'fix the fields named in the message and call again',
  INVALID_AMOUNT: 'use a dollar amount such as "25" or "25.50"; see get_pricing',
  OVER_PAYMENT_LIMIT: 'nothing was signed; use a smaller amount or ask the user to raise CARD402_MAX_PAYMENT',
  OVER_SPEND_CAP: 'nothing was signed; use a smaller amount or ask the user to raise CARD402_SPEND_CAP',
  INSUFFICIENT_BALANCE: 'nothing was signed; the user funds the wallet (get_wallet_status has the address)',
  PAYMENT_INCOMPLETE: 'money may have moved: check get_payment_status before buying again',
  TIMEOUT: 'a payment may still settle: check list_cards and get_payment_status before paying again',
  NO_WALLET: 'the user runs `card402 onboard -y` in a terminal',
  WALLET_UNREADABLE: 'the user runs `card402 doctor` in a terminal',
  REQUEST_FAILED: 'the API or RPC is unreachable: the user runs `card402 doctor`',
  TOKEN_FILE_FAILED: 'a card session was made but its token file could not be written: check the folder named in the message, then make a new session',
};
