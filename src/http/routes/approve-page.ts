import { Hono } from 'hono';
import type { PaymentRequestService } from '../../approvals/service.js';
import { DomainError } from '../../errors.js';
import { APPROVAL_TOKEN, PAYMENT_REQUEST_ID } from '../../protocol/payment-requests.js';
import { approvalNotFoundPage, approvalPage } from '../pages/approve-page.js';
import { assetCache } from '../pages/static-files.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { z } from 'zod';
import { describeRoute } from '../openapi/route-doc.js';

/**
 * The page's own policy, stricter where it can be and open only where the page needs it: scripts
 * and styles from card402 itself (no inline script, no eval, no CDN), requests to card402 only, no
 * forms, no base, no framing (frame-ancestors and X-Frame-Options both).
 */
export const APPROVAL_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** `GET /approve/:id?token=…` (the page) and `GET /approve/assets/:name` (its scripts and style). */
export function approvePageRoutes(deps: { requests: PaymentRequestService }) {
  const routes = new Hono<AppEnv>(ROUTER_OPTIONS);
  const asset = assetCache();

  routes.get('/approve/assets/:name', describeRoute({
    summary: "The approval page's scripts and style", tags: ['payment requests'], auth: 'none', params: { name: 'a file of the page' },
    responses: { 200: { description: 'the file', contentType: 'text/javascript' } }, errors: ['NOT_FOUND'],
  }), (c) => {
    const file = asset(c.req.param('name'));
    if (!file) throw new AppError('NOT_FOUND', 'no such file');
    return c.body(new Uint8Array(file.body), 200, { 'Content-Type': file.contentType });
  });

  routes.get('/approve/:id', describeRoute({
    summary: 'The approval page the owner opens from the link', tags: ['payment requests'], auth: 'none', params: { id: 'the payment request id (pr_…)' },
    query: z.object({ token: z.string().describe('the approval token from the link') }),
    responses: { 200: { description: 'HTML', contentType: 'text/html' }, 404: { description: 'HTML: no such request', contentType: 'text/html' } },
  }), async (c) => {
    c.header('Content-Security-Policy', APPROVAL_PAGE_CSP);
    c.header('X-Frame-Options', 'DENY');
    const id = c.req.param('id');
    const token = c.req.query('token') ?? '';
    if (!PAYMENT_REQUEST_ID.test(id) || !APPROVAL_TOKEN.test(token)) return c.html(approvalNotFoundPage(), 404);
    try {
      return c.html(approvalPage(await deps.requests.viewForToken(id, token)));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'payment_request_not_found') return c.html(approvalNotFoundPage(), 404);
      throw err;
    }
  });
  return routes;
}
