import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { WebhookEventType } from '../protocol/webhooks.js';

type Executor = Kysely<Database> | Transaction<Database>;

export const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString('hex')}`;

export interface EventToRecord {
  type: WebhookEventType;
  /** The card it is about: its holder's and its owner's endpoints hear of it. */
  cardId?: string | null;
  /** Wallets that hear of it besides the card's parties (e.g. the payer of a refunded payment with no card). */
  wallets?: readonly string[];
  /** What the receiver gets as `data`: ids, statuses, amounts; never card data, keys or signatures. */
  data: Record<string, unknown>;
  nowMs: number;
}

/**
 * Emits a webhook event: one call, inside the database transaction that makes the change it
 * reports (`trx`), so the event exists exactly when the change does. Writes the event to the
 * outbox and one pending delivery for each endpoint of the card's holder, its owner and any
 * `wallets` given that subscribes to the type; the dispatcher (dispatcher.ts) sends them. An event
 * no endpoint subscribes to is not stored (nothing would ever read it): an authorization or a
 * details read of a card nobody listens to costs one indexed read, not an outbox row.
 * Returns the event id, or undefined when nobody subscribes.
 */
export async function recordEvent(trx: Executor, event: EventToRecord): Promise<string | undefined> {
  const wallets = new Set(event.wallets ?? []);
  if (event.cardId) {
    const card = await trx.selectFrom('cards').select(['agent_address', 'owner_address']).where('id', '=', event.cardId).executeTakeFirst();
    if (card) {
      wallets.add(card.agent_address);
      wallets.add(card.owner_address);
    }
  }
  if (wallets.size === 0) return undefined;
  const endpoints = await trx.selectFrom('webhook_endpoints').select(['id', 'events']).where('wallet_address', 'in', [...wallets]).execute();
  const subscribed = endpoints.filter((e) => (JSON.parse(e.events) as string[]).includes(event.type));
  if (subscribed.length === 0) return undefined;
  const id = newId('evt');
  await trx
    .insertInto('webhook_events')
    .values({ id, type: event.type, card_id: event.cardId ?? null, data: JSON.stringify(event.data), created_at: event.nowMs })
    .execute();
  await trx
    .insertInto('webhook_deliveries')
    .values(
      subscribed.map((e) => ({
        id: newId('whd'),
        event_id: id,
        endpoint_id: e.id,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: event.nowMs,
        lease_token: null,
        locked_until: 0,
        last_status_code: null,
        last_error: null,
        delivered_at: null,
        created_at: event.nowMs,
      })),
    )
    .execute();
  return id;
}
