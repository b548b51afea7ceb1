import { closeCardResultSchema } from '../../protocol/api.js';
import { describeRoute } from '../openapi/route-doc.js';
import { Hono, type MiddlewareHandler } from 'hono';
import type { CardClosing } from '../../cards/closing.js';
import type { CardClosureRow } from '../../db/schema.js';
import type * as api from '../../protocol/api.js';
import { centsToDollarNumber } from '../../protocol/money/units.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import type { IdempotencyEnv } from '../idempotency/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';

export interface ClosingRoutesDeps {
  closing: CardClosing;
  /** Wallet auth for state changes (v2 single-use; v1 held to its first client and second). */
  authSingleUse: MiddlewareHandler<WalletEnv>;
  /** Idempotency-Key (src/http/idempotency), after wallet auth. */
  idempotent: MiddlewareHandler<IdempotencyEnv>;
}

const REFUND_STATUS = { none: 'none', refunding: 'pending', refunded: 'sent' } as const satisfies Record<CardClosureRow['refund_status'], api.CardClosure['refund']['status']>;

/** A closure as the API shows it (close answer and GET /cards/:cardId); the hash only once the refund landed. */
export function closureJson(closure: CardClosureRow): api.CardClosure {
  return {
    closedAt: new Date(closure.closed_at).toISOString(),
    closedBy: closure.closed_by,
    refund: {
      status: REFUND_STATUS[closure.refund_status],
      amount: centsToDollarNumber(closure.amount_cents),
      amountCents: closure.amount_cents,
      amountAtomic: closure.amount_atomic,
      to: closure.refund_to,
      txHash: closure.refund_status === 'refunded' ? closure.refund_tx_hash : null,
    },
  };
}

/** `DELETE /cards/:cardId` (owner only): close the card for good, its balance back on-chain. */
export function closingRoutes(deps: ClosingRoutesDeps) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  routes.delete('/cards/:cardId', describeRoute({
    summary: 'Close a card (owner only): its available balance goes back on-chain', tags: ['cards'], auth: 'wallet', params: { cardId: 'the card id (UUID)' }, headers: [{ name: 'Idempotency-Key', description: 'optional: a retry with the same key gets the first answer' }],
    responses: { 200: { description: 'closed, and the refund', schema: closeCardResultSchema } }, errors: ['CARD_NOT_FOUND', 'OWNER_ONLY', 'CONFLICT'],
  }), deps.authSingleUse, deps.idempotent, async (c) => {
    const closed = await deps.closing.close(c.get('wallet').address, c.req.param('cardId'));
    return c.json({ success: true, cardId: closed.cardId, status: 'closed', closure: closureJson(closed.closure) } satisfies api.CloseCardResult);
  });
  return routes;
}
