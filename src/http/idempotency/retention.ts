import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import type { Logger } from '../../logger.js';
import { repeatEvery } from '../../repeat.js';
import { pruneExpiredKeys } from './repository.js';

/** How often expired idempotency keys are deleted while the server runs. */
export const IDEMPOTENCY_PRUNE_INTERVAL_MS = 3_600_000;

/** Deletes idempotency keys past their 24 h, by the injected clock; returns how many went. */
export function pruneIdempotencyKeys(deps: { db: Db; clock: Clock }): Promise<number> {
  return pruneExpiredKeys(deps.db, deps.clock.nowMs());
}

/**
 * Prunes once before it returns (at start-up), then every `intervalMs` (as the details audit is
 * pruned). An expired key is also ignored where it is read, so pruning only bounds the table.
 */
export async function startIdempotencyRetention(deps: { db: Db; clock: Clock; logger: Logger; intervalMs?: number }): Promise<{ stop(): Promise<void> }> {
  const prune = async () => {
    const pruned = await pruneIdempotencyKeys(deps);
    if (pruned > 0) deps.logger.info('expired idempotency keys pruned', { pruned });
  };
  await prune();
  return repeatEvery(deps.intervalMs ?? IDEMPOTENCY_PRUNE_INTERVAL_MS, prune, (err) => deps.logger.error('idempotency key prune failed', { err }));
}
