import { z } from 'zod';
import { cardId } from '../inputs.js';
import { defineTool } from '../tool.js';

/** Closes a card for good (owner only); its available balance goes back to the owner on-chain. */
export const closeCard = defineTool({
  name: 'close_card',
  title: 'Close a card for good',
  description:
    "Close a card permanently (it cannot be reopened, frozen, funded or read again) and send its available balance back to the owner wallet in USDC on-chain. Only the card's owner wallet may do this (OWNER_ONLY otherwise). Irreversible: only when the user asked for it, with confirm: true. To stop a card for a while, use freeze_card.",
  input: {
    cardId,
    confirm: z
      .literal(true, { error: 'confirm must be true: close_card is irreversible; call it with confirm: true only when the user asked to close this card for good' })
      .describe('Must be true: the user asked to close this card for good'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ cardId: id }, ctx) {
    const result = await ctx.wallet().closeCard(id);
    const refund = result.closure.refund;
    const refundText =
      refund.status === 'none'
        ? 'no balance to send back'
        : refund.status === 'sent'
          ? `$${refund.amount.toFixed(2)} sent back to ${refund.to} (tx ${refund.txHash})`
          : `$${refund.amount.toFixed(2)} being sent back to ${refund.to} (check get_card later for the transaction)`;
    const data = { ...result, refunded: { status: refund.status, amount: refund.amount.toFixed(2), to: refund.to, txHash: refund.txHash } };
    return { text: `Card ${result.cardId} is closed; ${refundText}.`, data };
  },
});
