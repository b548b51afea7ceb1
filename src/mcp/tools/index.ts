import type { Card402Tool } from '../tool.js';
import { getCardDetails } from './card-details.js';
import { createCardSession, getCardSession } from './card-sessions.js';
import { freezeCard, restoreCardDetails, revokeCardDetails, unfreezeCard } from './card-state.js';
import { closeCard } from './close-card.js';
import { getBalance, getCard, listAssignedCards, listCards } from './cards.js';
import { createCard } from './create-card.js';
import { fundCard } from './fund-card.js';
import { getPaymentStatus } from './payment-status.js';
import { getPaymentRequest, requestCard } from './payment-requests.js';
import { getPricing } from './pricing.js';
import { getTransactions } from './transactions.js';
import { getWalletStatus } from './wallet-status.js';
import { sandboxCharge } from './sandbox.js';
import { setCardLimit, updateCardControls } from './spend-controls.js';
import { createCardWithMandate, fundCardWithMandate, getMandate, requestMandate } from './mandates.js';

/**
 * Every tool `card402 mcp` serves, in the order clients list them. ASG's nine first, under ASG's
 * names and meanings; then card402's others. A new capability is one module here and one line.
 */
export const TOOLS: readonly Card402Tool[] = [
  // ASG's nine
  getWalletStatus,
  createCard,
  fundCard,
  listCards,
  getCard,
  getCardDetails,
  freezeCard,
  unfreezeCard,
  getPricing,
  // card402's
  getTransactions,
  getBalance,
  revokeCardDetails,
  restoreCardDetails,
  getPaymentStatus,
  listAssignedCards,
  // cards that spend (issue 13)
  setCardLimit,
  updateCardControls,
  sandboxCharge,
  // payment requests (issue 16): the owner pays from a link
  requestCard,
  getPaymentRequest,
  // mandates (issue 17)
  requestMandate,
  getMandate,
  createCardWithMandate,
  fundCardWithMandate,
  // close (owner), card data outside the context (issue 14)
  closeCard,
  createCardSession,
  getCardSession,
];
