import { Hono } from 'hono';
import type { Metrics } from '../../metrics/index.js';
import { bearerToken } from '../kernel/bearer-token.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { describeRoute } from '../openapi/route-doc.js';

/** GET /metrics in Prometheus text format, mounted only with METRICS_SERVE=true, behind METRICS_TOKEN when set. */
export function metricsRoutes(deps: { metrics: Metrics; token: string | undefined }): Hono<AppEnv> {
  const app = new Hono<AppEnv>(ROUTER_OPTIONS);
  app.get('/metrics', describeRoute({
    summary: 'Prometheus metrics', tags: ['operations'], auth: 'bearer:metrics',
    responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
  }), bearerToken({ tokens: deps.token ? [deps.token] : [], realm: 'card402 metrics' }), async (c) => {
    const { contentType, body } = await deps.metrics.scrape();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
  return app;
}
