import { cardId } from '../inputs.js';
import { defineTool } from '../tool.js';

const CHANGE = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;

/** ASG's freeze_card. */
export const freezeCard = defineTool({
  name: 'freeze_card',
  title: 'Freeze a card',
  description: 'Freeze a card: it cannot be used for purchases until unfrozen (reversible; idempotent).',
  input: { cardId },
  annotations: CHANGE,
  async run({ cardId: id }, ctx) {
    const result = await ctx.wallet().freeze(id);
    return { text: `Card ${result.cardId} is ${result.status}.`, data: result };
  },
});

/** ASG's unfreeze_card. */
export const unfreezeCard = defineTool({
  name: 'unfreeze_card',
  title: 'Unfreeze a card',
  description: 'Unfreeze a frozen card so it can be used for purchases again (idempotent).',
  input: { cardId },
  annotations: CHANGE,
  async run({ cardId: id }, ctx) {
    const result = await ctx.wallet().unfreeze(id);
    return { text: `Card ${result.cardId} is ${result.status}.`, data: result };
  },
});

/** Owner only: nobody (holder or owner) can read the card's details until restored. */
export const revokeCardDetails = defineTool({
  name: 'revoke_card_details',
  title: "Revoke access to a card's details",
  description:
    "Block every read of a card's number and CVV (get_card_details and the details endpoint) until restored. Only the card's owner wallet may do this (OWNER_ONLY otherwise).",
  input: { cardId },
  annotations: CHANGE,
  async run({ cardId: id }, ctx) {
    const result = await ctx.wallet().revokeDetails(id);
    return { text: `Card ${result.cardId}: details ${result.detailsRevoked ? 'revoked' : 'available'}.`, data: result };
  },
});

/** Owner only: undoes revoke_card_details. */
export const restoreCardDetails = defineTool({
  name: 'restore_card_details',
  title: "Restore access to a card's details",
  description: "Allow reads of a card's details again after revoke_card_details. Only the card's owner wallet may do this (OWNER_ONLY otherwise).",
  input: { cardId },
  annotations: CHANGE,
  async run({ cardId: id }, ctx) {
    const result = await ctx.wallet().restoreDetails(id);
    return { text: `Card ${result.cardId}: details ${result.detailsRevoked ? 'revoked' : 'available'}.`, data: result };
  },
});
