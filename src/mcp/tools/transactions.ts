import { z } from 'zod';
import { cardId } from '../inputs.js';
import { READ_ONLY, defineTool } from '../tool.js';

/** ASG's get_transactions: a card's history, newest first, page by page. */
export const getTransactions = defineTool({
  name: 'get_transactions',
  title: 'Card transactions',
  description: "Get a card's transaction history (loads, top-ups and other movements), newest first, with page numbers.",
  input: {
    cardId,
    page: z.number().int().min(1).optional().describe('Page number, from 1 (default 1)'),
    limit: z.number().int().min(1).max(100).optional().describe('Entries per page, 1–100 (default 20)'),
  },
  annotations: READ_ONLY,
  async run({ cardId: id, page, limit }, ctx) {
    const result = await ctx.wallet().transactions(id, { page: page ?? 1, limit: limit ?? 20 });
    const p = result.pagination;
    const rows = result.transactions.map((t) => `${t.createdAt} ${t.type} $${t.amount.toFixed(2)} ${t.description}`);
    return {
      text: rows.length ? `Page ${p.page ?? 1} of ${p.pages} (${p.total} entries):\n${rows.join('\n')}` : 'No transactions on this page.',
      data: result,
    };
  },
});
