import { isIP } from 'node:net';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import { DomainError } from '../errors.js';
import { WEBHOOK_ENDPOINT_ID, type CreatedWebhook, type CreateWebhookRequest, type WebhookEndpoint } from '../protocol/webhooks.js';
import { isPublicAddress } from './address-guard.js';
import { newId } from './events.js';
import { countEndpoints, deleteEndpoint, findEndpoint, insertEndpoint, listDeliveries, listEndpoints } from './repository.js';
import { endpointSecret } from './signing.js';
import type { WebhookEndpointRow } from '../db/schema.js';

export interface WebhookServiceDeps {
  db: Db;
  clock: Clock;
  masterKey: Buffer;
  allowPrivateAddresses: boolean;
  maxEndpointsPerWallet: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function view(row: WebhookEndpointRow): WebhookEndpoint {
  return { id: row.id, url: row.url, events: JSON.parse(row.events) as string[], createdAt: iso(row.created_at) };
}

/** What a wallet does with its webhook endpoints: register, list, delete, read the delivery log. */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async register(wallet: string, request: { url: string; events: readonly string[] }): Promise<CreatedWebhook> {
    this.checkUrl(request.url);
    const { db, clock, maxEndpointsPerWallet: max } = this.deps;
    if ((await countEndpoints(db, wallet)) >= max) throw new DomainError('webhook_limit_reached', `a wallet may register at most ${max} webhook endpoints`, { max });
    const row: WebhookEndpointRow = { id: newId('we'), wallet_address: wallet, url: request.url, events: JSON.stringify([...new Set(request.events)]), created_at: clock.nowMs() };
    await insertEndpoint(db, row);
    return { ...view(row), secret: endpointSecret(this.deps.masterKey, row.id) };
  }

  async list(wallet: string): Promise<WebhookEndpoint[]> {
    return (await listEndpoints(this.deps.db, wallet)).map(view);
  }

  async remove(wallet: string, id: string): Promise<void> {
    await this.own(wallet, id);
    await this.deps.db.transaction().execute((trx) => deleteEndpoint(trx, id));
  }

  async deliveries(wallet: string, id: string, page: { limit: number; before?: number }) {
    await this.own(wallet, id);
    const rows = await listDeliveries(this.deps.db, id, { limit: page.limit + 1, ...(page.before !== undefined ? { before: page.before } : {}) });
    const items = rows.slice(0, page.limit);
    return {
      webhookId: id,
      deliveries: items.map((d) => ({
        id: d.id,
        eventId: d.event_id,
        eventType: d.event_type,
        status: d.status,
        attempts: d.attemptRows.map((a) => ({ attempt: a.attempt, at: iso(a.started_at), statusCode: a.status_code, error: a.error })),
        nextAttemptAt: d.status === 'pending' ? iso(d.next_attempt_at) : null,
        deliveredAt: d.delivered_at === null ? null : iso(d.delivered_at),
        createdAt: iso(d.created_at),
      })),
      nextCursor: rows.length > page.limit && items.length > 0 ? String(items[items.length - 1]!.created_at) : null,
    };
  }

  private async own(wallet: string, id: string): Promise<WebhookEndpointRow> {
    const row = WEBHOOK_ENDPOINT_ID.test(id) ? await findEndpoint(this.deps.db, id) : undefined;
    if (!row || row.wallet_address !== wallet) throw new DomainError('webhook_not_found', 'webhook not found');
    return row;
  }

  /**
   * A first check at registration (the real one is at each delivery, after resolution): https only,
   * and no loopback/private address or `localhost`, unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES allows
   * local development (then http too). Credentials in the URL are refused.
   */
  private checkUrl(url: string): void {
    const target = new URL(url);
    const refuse = (why: string) => {
      throw new DomainError('webhook_url_refused', `webhook url refused: ${why}`);
    };
    if (target.username || target.password) refuse('credentials in the url');
    if (this.deps.allowPrivateAddresses) return;
    if (target.protocol !== 'https:') refuse('https is required');
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.endsWith('.localhost')) refuse('a loopback host');
    if (isIP(host) && !isPublicAddress(host)) refuse('a loopback, private or reserved address');
  }
}

export type { CreateWebhookRequest };
