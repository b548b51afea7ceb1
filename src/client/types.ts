/** Response bodies of the card402 API, as the SDK returns them (dollar amounts are JSON numbers). */

export interface Health {
  status: string;
  timestamp: string;
  version: string;
}

export interface Pricing {
  cardFee: number;
  topUpPercent: number;
  minAmount: number;
  maxAmount: number;
  description: string;
  cardFeeCents: number;
  topUpFeeBasisPoints: number;
  [key: string]: unknown;
}

export interface PaymentSummary {
  amountCharged: number;
  txHash: string;
  network: string;
  paymentId: string;
}

export type { BillingAddress, CardDetails } from '../cards/card-data.js';
import type { CardDetails } from '../cards/card-data.js';

export interface CardSummary {
  cardId: string;
  nameOnCard: string;
  lastFour?: string;
  balance: number;
  status: string;
  createdAt: string;
  [key: string]: unknown;
}

export interface CreateCardResult {
  success: boolean;
  card: CardSummary;
  payment: PaymentSummary;
  /** Only in the first response to a purchase; a replayed response leaves it out (read details with getDetails). */
  detailsEnvelope?: CardDetails & { oneTimeAccess: boolean; expiresInSeconds: number };
}

export interface FundCardResult {
  success: boolean;
  cardId: string;
  fundedAmount: number;
  newBalance: number;
  payment: PaymentSummary;
}

/** `GET /cards`: the cards this wallet holds (bought). */
export interface CardList {
  cards: CardSummary[];
}

/** `GET /cards?role=owner`: cards other wallets bought and named this wallet owner of (not chosen by it). */
export interface AssignedCardList {
  role: 'owner';
  description: string;
  cards: Array<CardSummary & { agentAddress: string }>;
}

export interface CardResponse {
  card: CardSummary;
}

export interface CardDetailsResponse {
  details: CardDetails;
}

export interface StatusChange {
  success: boolean;
  cardId: string;
  status: string;
}

export interface DetailsRevocation {
  success: boolean;
  cardId: string;
  detailsRevoked: boolean;
}

export interface TransactionsPage {
  transactions: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface BalanceResponse {
  cardId: string;
  balance: number;
  [key: string]: unknown;
}

export interface PaymentStatus {
  paymentId: string;
  status: string;
  [key: string]: unknown;
}
