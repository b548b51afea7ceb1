import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { Logger } from '../logger.js';
import { WEBHOOK_EVENT_ID_HEADER, WEBHOOK_SIGNATURE_HEADER } from '../protocol/webhooks.js';
import { repeatEvery } from '../repeat.js';
import { newId } from './events.js';
import { claimDelivery, dueDeliveries, finishAttempt, type DueDelivery } from './repository.js';
import { postWebhook, type SendResult } from './sender.js';
import { endpointSecret, signatureHeader } from './signing.js';

/** Retries stop once an event is this old: the delivery is then `failed`. */
export const WEBHOOK_MAX_AGE_MS = 3 * 24 * 3600 * 1000;
/** The longest wait between two attempts. */
export const WEBHOOK_MAX_BACKOFF_MS = 6 * 3600 * 1000;
/** Deliveries taken per pass. */
const BATCH = 20;

export interface WebhookDispatcherDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Derives each endpoint's signing secret (signing.ts). */
  masterKey: Buffer;
  allowPrivateAddresses: boolean;
  timeoutMs: number;
  /** The wait after the first failed attempt; doubled after each further one, up to WEBHOOK_MAX_BACKOFF_MS. */
  retryBaseMs: number;
  /** Replaces the HTTP POST (never in production). */
  send?: typeof postWebhook;
}

/** The wait before attempt `attempt + 1` after `attempt` failed attempts: base · 2^(attempt−1), capped. */
export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(attempt - 1, 30), WEBHOOK_MAX_BACKOFF_MS);
}

/** The body a receiver gets for an event: identical on every (re)delivery. */
export function eventBody(event: DueDelivery['event']): string {
  return JSON.stringify({ id: event.id, type: event.type, createdAt: new Date(event.created_at).toISOString(), data: JSON.parse(event.data) });
}

/**
 * Sends the outbox (docs/ARCHITECTURE.md, "Signed webhooks"). Each pass takes the deliveries due
 * now, claims each with a lease (so two processes never send one at once, and a process that died
 * mid-delivery leaves it to the next after the lease), POSTs the signed event, and records the
 * attempt: delivered on a 2xx, otherwise retried with exponential backoff until the event is
 * three days old. A redelivery carries the same event id and body; receivers dedupe on the id.
 */
export class WebhookDispatcher {
  private readonly send: typeof postWebhook;
  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.send = deps.send ?? postWebhook;
  }

  /** One pass; returns how many attempts it made. */
  async runOnce(): Promise<number> {
    const nowMs = this.deps.clock.nowMs();
    const due = await dueDeliveries(this.deps.db, nowMs, BATCH);
    const results = await Promise.all(due.map((d) => this.attempt(d, nowMs)));
    return results.filter(Boolean).length;
  }

  private async attempt(due: DueDelivery, nowMs: number): Promise<boolean> {
    const { db, clock, logger } = this.deps;
    const leaseToken = randomBytes(16).toString('hex');
    // The lease outlasts the request's timeout, so only a dead process's delivery is taken over.
    if (!(await claimDelivery(db, due.delivery, leaseToken, nowMs + this.deps.timeoutMs + 30_000))) return false;
    const attempt = due.delivery.attempts + 1;
    const body = eventBody(due.event);
    const t = Math.floor(clock.nowMs() / 1000);
    const secret = endpointSecret(this.deps.masterKey, due.delivery.endpoint_id);
    let result: SendResult;
    try {
      result = await this.send(
        due.url,
        body,
        { [WEBHOOK_SIGNATURE_HEADER]: signatureHeader(secret, t, body), [WEBHOOK_EVENT_ID_HEADER]: due.event.id },
        { timeoutMs: this.deps.timeoutMs, allowPrivate: this.deps.allowPrivateAddresses },
      );
    } catch (err) {
      logger.warn('webhook send threw', { deliveryId: due.delivery.id, err });
      result = { ok: false, statusCode: null, error: 'send_error' };
    }
    const finishedMs = clock.nowMs();
    const expired = finishedMs - due.event.created_at >= WEBHOOK_MAX_AGE_MS;
    const next = result.ok
      ? { status: 'delivered' as const, nextAttemptAt: finishedMs, nowMs: finishedMs }
      : expired
        ? { status: 'failed' as const, nextAttemptAt: finishedMs, nowMs: finishedMs }
        : { status: 'pending' as const, nextAttemptAt: finishedMs + backoffMs(attempt, this.deps.retryBaseMs), nowMs: finishedMs };
    const recorded = await finishAttempt(db, {
      deliveryId: due.delivery.id,
      leaseToken,
      attempt,
      startedAt: nowMs,
      statusCode: result.statusCode,
      error: result.ok ? null : result.error,
      attemptId: newId('wha'),
      next,
    });
    if (!recorded) logger.warn('webhook attempt finished after its lease was taken over; not recorded', { deliveryId: due.delivery.id });
    else if (!result.ok) logger.info('webhook delivery failed', { deliveryId: due.delivery.id, endpointId: due.delivery.endpoint_id, attempt, error: result.error, next: next.status });
    return true;
  }

  /** Runs a pass every `intervalMs` until stopped (never overlapping itself). */
  start(intervalMs: number): { stop(): Promise<void> } {
    return repeatEvery(intervalMs, () => this.runOnce(), (err) => this.deps.logger.error('webhook dispatcher pass failed', { err }));
  }
}
