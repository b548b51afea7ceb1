import type { CardDetailsView } from '../../protocol/api.js';
import { cardId } from '../inputs.js';
import { defineTool } from '../tool.js';

/** Where the full card data is to be read, instead of this conversation. */
export const CARD_DATA_OUTSIDE_CONTEXT = (id: string) =>
  `The card number, CVV and billing address are kept out of this conversation. To use them outside it, call create_card_session with cardId ${id}: it writes a one-time redeem token to a file only the user can read and returns the command that redeems it in a terminal or script (card402 card session redeem <sessionId> --reveal < <token file>). The user can also run \`card402 card details ${id} --reveal\` in their own terminal, or code that fills the payment form reads them with the card402 SDK. Do not ask for them to be pasted here.`;

function expiry(details: Pick<CardDetailsView, 'expiryMonth' | 'expiryYear'>): string {
  return `${String(details.expiryMonth).padStart(2, '0')}/${details.expiryYear}`;
}

/**
 * ASG's get_card_details, made safe by default: the card number and CVV never enter the model's
 * context unless the user set CARD402_MCP_REVEAL_DETAILS=true. Each call is a details read on the
 * server (a fresh nonce, audited, at most 5 per card per hour).
 */
export const getCardDetails = defineTool({
  name: 'get_card_details',
  title: 'Card details (number kept out of context)',
  description: (ctx) =>
    ctx.settings.revealDetails
      ? 'Read the full card data: card number (PAN), CVV, expiry and billing address (this server was configured with CARD402_MCP_REVEAL_DETAILS=true). Use only to fill in a payment form; prefer get_card for anything else. Limited to 5 reads per card per hour; every read is audited.'
      : 'Check a card\'s last four digits and expiry, and learn how the full card data (number, CVV, billing address) is read OUTSIDE this conversation: card data is never returned to the model here. Limited to 5 reads per card per hour; every read is audited. Prefer get_card for status and balance.',
  input: { cardId },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async run({ cardId: id }, ctx) {
    const { details } = await ctx.wallet().getDetails(id);
    const lastFour = details.cardNumber.slice(-4);
    if (ctx.settings.revealDetails) {
      return {
        text: `Card …${lastFour}, expiry ${expiry(details)}: full card data in the structured result (revealed because CARD402_MCP_REVEAL_DETAILS=true).`,
        data: { cardId: id, revealed: true, details },
      };
    }
    return {
      text: `Card …${lastFour}, expiry ${expiry(details)}. The number and CVV are not shown here.`,
      data: { cardId: id, revealed: false, lastFour, expiryMonth: details.expiryMonth, expiryYear: details.expiryYear, expiry: expiry(details), howToGetFullDetails: CARD_DATA_OUTSIDE_CONTEXT(id) },
    };
  },
});
