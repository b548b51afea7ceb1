import type { Migration } from 'kysely';
import * as cards from './2026-11-21-01-cards.js';
import * as payments from './2026-11-21-02-payments.js';
import * as walletAuth from './2026-11-21-03-wallet-auth.js';
import * as paymentEvidence from './2026-11-30-01-payment-evidence.js';
import * as sandboxIssuer from './2026-11-30-02-sandbox-issuer.js';
import * as detailsAuditBounds from './2026-11-30-03-details-audit-bounds.js';
import * as v1SameClient from './2026-11-30-04-v1-same-client.js';
import * as idempotencyKeys from './2026-11-30-20-idempotency-keys.js';
import * as paymentRequests from './2026-11-30-41-payment-requests.js';
import * as cardClosures from './2026-11-30-21-card-closures.js';
import * as cardSpending from './2026-11-30-10-card-spending.js';
import * as cardDataPaths from './2026-11-30-30-card-data-paths.js';
import * as cardSpendTotals from './2026-11-30-11-card-spend-totals.js';
import * as mandates from './2026-11-30-51-mandates.js';
import * as webhooks from './2026-11-30-60-webhooks.js';
import * as instanceLeases from './2026-11-30-71-instance-leases.js';
import * as webhookRetention from './2026-12-01-10-webhook-retention.js';

/**
 * The static, ordered list of migrations. Names sort by date; a landed migration is never edited,
 * only followed by a new one.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-21-01-cards': cards,
  '2026-11-21-02-payments': payments,
  '2026-11-21-03-wallet-auth': walletAuth,
  '2026-11-30-01-payment-evidence': paymentEvidence,
  '2026-11-30-02-sandbox-issuer': sandboxIssuer,
  '2026-11-30-03-details-audit-bounds': detailsAuditBounds,
  '2026-11-30-04-v1-same-client': v1SameClient,
  '2026-11-30-10-card-spending': cardSpending,
  '2026-11-30-11-card-spend-totals': cardSpendTotals,
  '2026-11-30-20-idempotency-keys': idempotencyKeys,
  '2026-11-30-21-card-closures': cardClosures,
  '2026-11-30-30-card-data-paths': cardDataPaths,
  '2026-11-30-41-payment-requests': paymentRequests,
  '2026-11-30-51-mandates': mandates,
  '2026-11-30-60-webhooks': webhooks,
  '2026-11-30-71-instance-leases': instanceLeases,
  '2026-12-01-10-webhook-retention': webhookRetention,
};
