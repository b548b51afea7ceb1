import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import {
  createdWebhookSchema,
  createWebhookRequestSchema,
  webhookDeletedSchema,
  webhookDeliveriesSchema,
  webhookListSchema,
} from '../../protocol/webhooks.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import type { WebhookService } from '../../webhooks/service.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { describeRoute } from '../openapi/route-doc.js';

const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,15}$/, 'cursor must be the nextCursor of a previous page').optional(),
});

const ID = { id: 'the webhook endpoint id (we_…)' };

/** Wallet-signed webhook endpoints (README, "Signed webhooks"): thin, zod → WebhookService → JSON. */
export function webhookRoutes(deps: { webhooks: WebhookService; authRead: MiddlewareHandler<WalletEnv>; authSingleUse: MiddlewareHandler<WalletEnv> }) {
  const { webhooks, authRead, authSingleUse } = deps;
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);

  routes.post('/webhooks', describeRoute({
    summary: 'Register a webhook endpoint for your cards',
    description: 'Events about the cards this wallet holds or owns are POSTed to `url`, signed (Card402-Signature: `t=…,v1=…`, HMAC-SHA256 over `${t}.${body}` with the secret returned here once).',
    tags: ['webhooks'], auth: 'wallet', body: createWebhookRequestSchema,
    responses: { 201: { description: 'the endpoint and its signing secret (shown only now)', schema: createdWebhookSchema } }, errors: ['CONFLICT'],
  }), authSingleUse, async (c) => {
    const body = await readJsonBody(c, createWebhookRequestSchema);
    return c.json(await webhooks.register(c.get('wallet').address, body), 201);
  });

  routes.get('/webhooks', describeRoute({
    summary: 'List your webhook endpoints', tags: ['webhooks'], auth: 'wallet',
    responses: { 200: { description: 'the endpoints (never their secrets)', schema: webhookListSchema } },
  }), authRead, async (c) => c.json({ webhooks: await webhooks.list(c.get('wallet').address) }));

  routes.delete('/webhooks/:id', describeRoute({
    summary: 'Delete a webhook endpoint', tags: ['webhooks'], auth: 'wallet', params: ID,
    responses: { 200: { description: 'deleted, with its pending deliveries', schema: webhookDeletedSchema } }, errors: ['NOT_FOUND'],
  }), authSingleUse, async (c) => {
    await webhooks.remove(c.get('wallet').address, c.req.param('id'));
    return c.json({ success: true, id: c.req.param('id') });
  });

  routes.get('/webhooks/:id/deliveries', describeRoute({
    summary: "A webhook endpoint's deliveries and their attempts", tags: ['webhooks'], auth: 'wallet', params: ID, query: deliveriesQuery,
    responses: { 200: { description: 'newest first', schema: webhookDeliveriesSchema } }, errors: ['NOT_FOUND'],
  }), authRead, async (c) => {
    const parsed = deliveriesQuery.safeParse(c.req.query());
    if (!parsed.success) throw new AppError('VALIDATION_ERROR', `invalid query: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const page = { limit: parsed.data.limit, ...(parsed.data.cursor ? { before: Number(parsed.data.cursor) } : {}) };
    return c.json(await webhooks.deliveries(c.get('wallet').address, c.req.param('id'), page));
  });
  return routes;
}
