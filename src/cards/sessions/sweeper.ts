import type { Clock } from '../../clock.js';
import type { Db } from '../../db/open.js';
import type { Logger } from '../../logger.js';
import { repeatEvery } from '../../repeat.js';
import {
  listExpiredActiveCardSessions,
  listExpiredActiveSecretsSessions,
  listFinishedCardSessions,
  listFinishedSecretsSessions,
  transitionCardSession,
  transitionSecretsSession,
} from './repository.js';

/** Sessions moved per query, so a large backlog never holds the write lock for long. */
export const SWEEP_BATCH = 500;

export interface SweepResult {
  cardSessionsExpired: number;
  cardSessionsScrubbed: number;
  secretsSessionsExpired: number;
  secretsSessionsScrubbed: number;
}

async function drain<R extends { id: string }>(list: () => Promise<R[]>, move: (row: R) => Promise<boolean>): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await list();
    let progressed = 0;
    for (const row of rows) if (await move(row)) progressed++;
    moved += progressed;
    // A batch that moved nothing (another instance got there first) ends the pass, never loops.
    if (rows.length < SWEEP_BATCH || progressed === 0) return moved;
  }
}

/**
 * One pass by the injected clock: active sessions past their TTL become `expired`, and finished
 * sessions (card: redeemed or expired; secrets: used or expired) become `scrubbed`, their token
 * hash or key wiped for good. Each change is a compare-and-set along the lifecycle (state.ts).
 */
export async function sweepSessions(deps: { db: Db; clock: Clock }): Promise<SweepResult> {
  const { db } = deps;
  const nowMs = deps.clock.nowMs();
  const cardSessionsExpired = await drain(
    () => listExpiredActiveCardSessions(db, nowMs, SWEEP_BATCH),
    (row) => transitionCardSession(db, row.id, { from: 'active', to: 'expired', nowMs }),
  );
  const cardSessionsScrubbed = await drain(
    () => listFinishedCardSessions(db, SWEEP_BATCH),
    (row) => transitionCardSession(db, row.id, { from: row.status as 'redeemed' | 'expired', to: 'scrubbed', wipeToken: true, nowMs }),
  );
  const secretsSessionsExpired = await drain(
    () => listExpiredActiveSecretsSessions(db, nowMs, SWEEP_BATCH),
    (row) => transitionSecretsSession(db, row.id, { from: 'active', to: 'expired', nowMs }),
  );
  const secretsSessionsScrubbed = await drain(
    () => listFinishedSecretsSessions(db, SWEEP_BATCH),
    (row) => transitionSecretsSession(db, row.id, { from: row.status as 'used' | 'expired', to: 'scrubbed', nowMs }),
  );
  return { cardSessionsExpired, cardSessionsScrubbed, secretsSessionsExpired, secretsSessionsScrubbed };
}

/** Sweeps once before it returns (at start-up), then every `intervalMs`; `stop()` waits for a pass under way. */
export async function startSessionSweeper(deps: { db: Db; clock: Clock; logger: Logger; intervalMs: number }): Promise<{ stop(): Promise<void> }> {
  const sweep = async () => {
    const result = await sweepSessions(deps);
    if (Object.values(result).some((n) => n > 0)) deps.logger.info('card data sessions swept', { ...result });
  };
  await sweep();
  return repeatEvery(deps.intervalMs, sweep, (err) => deps.logger.error('card data session sweep failed', { err }));
}
