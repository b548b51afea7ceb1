import type { Controls } from '../../cards/spend/controls.js';
import type { CardAuthorizationRow } from '../../db/schema.js';
import { centsToDollarNumber } from '../../protocol/money/units.js';
import type * as spending from '../../protocol/spending.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** Shapes shared by the card, sandbox and issuer routes (protocol/spending.ts). */
export function controlsJson(controls: Controls): spending.CardControls {
  return {
    limits: controls.limits,
    allowedCategories: controls.allowedCategories,
    blockedCategories: controls.blockedCategories,
    allowedMerchants: controls.allowedMerchants,
    expiresAt: controls.expiresAtMs === null ? null : iso(controls.expiresAtMs),
    lockedBy: controls.lockedBy,
  };
}

export function merchantJson(row: CardAuthorizationRow): spending.Merchant {
  return {
    name: row.merchant_name,
    mcc: row.merchant_mcc,
    country: row.merchant_country,
    ...(row.merchant_url ? { url: row.merchant_url } : {}),
  };
}

export function authorizationJson(row: CardAuthorizationRow): spending.Authorization {
  return {
    id: row.id,
    status: row.status === 'declined' ? 'declined' : 'approved',
    ...(row.decline_reason ? { declineReason: row.decline_reason as spending.DeclineReason } : {}),
    ...(row.decline_detail ? { declineDetail: row.decline_detail } : {}),
    amount: centsToDollarNumber(row.amount_cents),
    amountCents: row.amount_cents,
    currency: row.currency,
    merchant: merchantJson(row),
    state: row.status,
    heldCents: row.held_cents,
    capturedCents: row.captured_cents,
    refundedCents: row.refunded_cents,
    expiresAt: iso(row.expires_at),
    createdAt: iso(row.created_at),
  };
}
