import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { Logger } from '../logger.js';
import { pruneDetailsAuditBefore } from './details-repository.js';
import { repeatEvery } from '../repeat.js';

export const DAY_MS = 86_400_000;
/** How often the details access audit is pruned while the server runs. */
export const AUDIT_PRUNE_INTERVAL_MS = 3_600_000;

export interface AuditRetentionDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  retentionDays: number;
  intervalMs?: number;
}

/** Deletes details access audit rows and refusal counters older than the retention, by the injected clock. */
export async function pruneDetailsAudit(deps: Pick<AuditRetentionDeps, 'db' | 'clock' | 'retentionDays'>) {
  return pruneDetailsAuditBefore(deps.db, deps.clock.nowMs() - deps.retentionDays * DAY_MS);
}

/**
 * Prunes the audit once before it returns (at start-up), then every `intervalMs`. A failed pass is
 * logged and retried on the next tick; `stop()` waits for a pass under way.
 */
export async function startAuditRetention(deps: AuditRetentionDeps): Promise<{ stop(): Promise<void> }> {
  const prune = async () => {
    const pruned = await pruneDetailsAudit(deps);
    if (pruned.attempts > 0 || pruned.refusalCounters > 0) deps.logger.info('details access audit pruned', { ...pruned, retentionDays: deps.retentionDays });
  };
  await prune();
  return repeatEvery(deps.intervalMs ?? AUDIT_PRUNE_INTERVAL_MS, prune, (err) => deps.logger.error('details access audit prune failed', { err }));
}
