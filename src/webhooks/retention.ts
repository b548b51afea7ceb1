import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { Logger } from '../logger.js';
import { repeatEvery } from '../repeat.js';
import { WEBHOOK_MAX_AGE_MS } from './dispatcher.js';
import { pruneWebhookEventsBefore } from './repository.js';

const DAY_MS = 86_400_000;
/** How often delivered and failed webhook history is pruned while the server runs. */
export const WEBHOOK_PRUNE_INTERVAL_MS = 3_600_000;
/** The shortest retention: longer than the retry window, so a delivery's history outlives its retries. */
export const WEBHOOK_MIN_RETENTION_DAYS = Math.ceil(WEBHOOK_MAX_AGE_MS / DAY_MS) + 1;

export interface WebhookRetentionDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  retentionDays: number;
  intervalMs?: number;
}

/** Prunes every finished event older than the retention (by the injected clock), in batches; returns how many went. */
export async function pruneWebhookHistory(deps: Pick<WebhookRetentionDeps, 'db' | 'clock' | 'retentionDays'>): Promise<number> {
  const cutoffMs = deps.clock.nowMs() - deps.retentionDays * DAY_MS;
  let total = 0;
  for (;;) {
    const pruned = await pruneWebhookEventsBefore(deps.db, cutoffMs);
    total += pruned;
    if (pruned === 0) return total;
  }
}

/**
 * Webhook history (events, deliveries, attempts; docs/ARCHITECTURE.md, signed webhooks) is kept
 * `retentionDays` and then deleted, so the outbox does not grow without end. Prunes once before it
 * returns (at start-up), then every `intervalMs`; a failed pass is logged and retried on the next.
 */
export async function startWebhookRetention(deps: WebhookRetentionDeps): Promise<{ stop(): Promise<void> }> {
  const prune = async () => {
    const pruned = await pruneWebhookHistory(deps);
    if (pruned > 0) deps.logger.info('webhook history pruned', { events: pruned, retentionDays: deps.retentionDays });
  };
  await prune();
  return repeatEvery(deps.intervalMs ?? WEBHOOK_PRUNE_INTERVAL_MS, prune, (err) => deps.logger.error('webhook history prune failed', { err }));
}
