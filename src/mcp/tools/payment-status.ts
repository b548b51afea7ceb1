import { z } from 'zod';
import { isUuid } from '../../protocol/api.js';
import { READ_ONLY, defineTool } from '../tool.js';

/** A payment this wallet made: settling, fulfilled, refunded… (README, "Payment states"). */
export const getPaymentStatus = defineTool({
  name: 'get_payment_status',
  title: 'Payment status',
  description:
    'Check a payment this wallet made (the paymentId from create_card, fund_card or an error): its status (settling, fulfilled, paid_unfulfilled, refunding, refunded, failed, needs_review), amount, transaction hash, card and refund transaction. Use it after a TIMEOUT or PAYMENT_INCOMPLETE error before paying again.',
  input: {
    paymentId: z.string().refine(isUuid, 'paymentId must be a payment id (a UUID)').describe('The payment id (a UUID)'),
  },
  annotations: READ_ONLY,
  async run({ paymentId }, ctx) {
    const payment = await ctx.wallet().payment(paymentId);
    return {
      text: `Payment ${payment.paymentId} (${payment.kind}, $${payment.amountCharged.toFixed(2)}): ${payment.status}${payment.txHash ? `, tx ${payment.txHash}` : ''}${payment.refundTxHash ? `, refunded in tx ${payment.refundTxHash}` : ''}.`,
      data: payment,
    };
  },
});
