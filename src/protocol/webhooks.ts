import { z } from 'zod';

/**
 * Signed webhooks (README, "Signed webhooks"): the event types, the registration body and the
 * answers of the /webhooks routes. Shared by the server and clients.
 */
export const WEBHOOK_EVENT_TYPES = [
  'card.created',
  'card.funded',
  'card.frozen',
  'card.unfrozen',
  'card.closed',
  'card.details_accessed',
  'authorization.approved',
  'authorization.declined',
  'payment.refunded',
  'card.balance_refunded',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = 'Card402-Signature';
/** The event id (also `id` in the body): the same on every redelivery, the receiver's dedupe key. */
export const WEBHOOK_EVENT_ID_HEADER = 'Card402-Event-Id';

export const WEBHOOK_ENDPOINT_ID = /^we_[0-9a-f]{32}$/;

export const createWebhookRequestSchema = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length),
});
export type CreateWebhookRequest = z.input<typeof createWebhookRequestSchema>;

export const webhookEndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  createdAt: z.string(),
});
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;

/** 201 of POST /webhooks: the signing secret is shown here once, and never again. */
export const createdWebhookSchema = webhookEndpointSchema.extend({
  secret: z.string().describe('whsec_…: HMAC-SHA256 key for Card402-Signature; shown only in this answer'),
});
export type CreatedWebhook = z.infer<typeof createdWebhookSchema>;

export const webhookListSchema = z.object({ webhooks: z.array(webhookEndpointSchema) });

export const webhookDeletedSchema = z.object({ success: z.boolean(), id: z.string() });

export const webhookDeliverySchema = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.array(z.object({ attempt: z.number().int(), at: z.string(), statusCode: z.number().int().nullable(), error: z.string().nullable() })),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

export const webhookDeliveriesSchema = z.object({
  webhookId: z.string(),
  deliveries: z.array(webhookDeliverySchema),
  nextCursor: z.string().nullable(),
});

/** What a receiver gets: the body that is signed. */
export const webhookEventBodySchema = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  createdAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type WebhookEventBody = z.infer<typeof webhookEventBodySchema>;
