import { Hono, type MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import type { Clock } from '../../clock.js';
import type { MandateService } from '../../mandates/service.js';
import {
  MAX_MANDATE_SECONDS,
  createMandateRequestSchema,
  isMandateId,
  mandateApprovalSchema,
  mandateSchema,
  revokeMandateRequestSchema,
  signedAuthEntrySchema,
  type MandateView,
} from '../../protocol/mandates.js';
import type { WalletEnv } from '../../wallet-auth/middleware.js';
import { ROUTER_OPTIONS, type AppEnv } from '../kernel/env.js';
import { AppError } from '../kernel/errors.js';
import { readJsonBody } from '../kernel/json-body.js';
import { describeRoute } from '../openapi/route-doc.js';

/** A mandate must last at least this long: shorter, the owner could hardly approve it in time. */
const MIN_MANDATE_SECONDS = 60;

export interface MandateRoutesDeps {
  mandates: MandateService;
  clock: Clock;
  authRead: MiddlewareHandler<WalletEnv>;
  authSingleUse: MiddlewareHandler<WalletEnv>;
}

function idParam(id: string): string {
  if (!isMandateId(id)) throw new AppError('MANDATE_NOT_FOUND', 'mandate not found');
  return id;
}

/**
 * Mandates (issue 17). The agent asks (POST, wallet-signed) and reads (GET, agent or owner); the
 * owner approves from the approval link (the page shows the mandate and the CLI command; the
 * owner's wallet signs the `approve` authorization entry from GET …/approval and posts it back),
 * and revokes (DELETE, owner-signed, optionally with a signed `approve(…, 0, …)` to clear it on-chain).
 */
export function mandateRoutes(deps: MandateRoutesDeps) {
  const routes = new Hono<AppEnv & WalletEnv>(ROUTER_OPTIONS);

  routes.post('/mandates', describeRoute({
    summary: 'Ask an owner for a spending mandate (the agent)', tags: ['mandates'], auth: 'wallet', body: createMandateRequestSchema,
    responses: { 201: { description: 'the mandate, requires-verification, with its approval link and the allowance to approve', schema: mandateSchema } },
  }), deps.authSingleUse, async (c) => {
    const body = await readJsonBody(c, createMandateRequestSchema);
    const nowMs = deps.clock.nowMs();
    // Absent: the service's default (DEFAULT_MANDATE_SECONDS from the moment it records the mandate).
    const expiresAtMs = body.expiresAt ? Date.parse(body.expiresAt) : undefined;
    if (expiresAtMs !== undefined && (expiresAtMs < nowMs + MIN_MANDATE_SECONDS * 1000 || expiresAtMs > nowMs + MAX_MANDATE_SECONDS * 1000)) {
      throw new AppError('VALIDATION_ERROR', `invalid request body: expiresAt must be between ${MIN_MANDATE_SECONDS} seconds and ${MAX_MANDATE_SECONDS / 86400} days from now`, {
        extra: { issues: [{ path: 'expiresAt', message: 'out of range' }] },
      });
    }
    return c.json(await deps.mandates.create(c.get('wallet').address, { ...body, ...(expiresAtMs !== undefined ? { expiresAtMs } : {}) }), 201);
  });

  routes.get('/mandates/:id', describeRoute({
    summary: 'A mandate: phase, rules, spent per period, allowance left on-chain (its agent or owner)', tags: ['mandates'], auth: 'wallet', params: { id: 'the mandate id (md_…)' },
    responses: { 200: { description: 'the mandate', schema: mandateSchema } }, errors: ['MANDATE_NOT_FOUND'],
  }), deps.authRead, async (c) => c.json(await deps.mandates.getFor(idParam(c.req.param('id')), c.get('wallet').address)));

  routes.delete('/mandates/:id', describeRoute({
    summary: 'Revoke a mandate (the owner), optionally clearing the allowance on-chain with a signed approve(…, 0, …)', tags: ['mandates'], auth: 'wallet', params: { id: 'the mandate id (md_…)' }, body: revokeMandateRequestSchema,
    responses: { 200: { description: 'the mandate, revoked', schema: mandateSchema } }, errors: ['MANDATE_NOT_FOUND', 'OWNER_ONLY', 'INVALID_AUTH_ENTRY'],
  }), deps.authSingleUse, async (c) => {
    const body = await readJsonBody(c, revokeMandateRequestSchema.optional());
    return c.json(await deps.mandates.revoke(idParam(c.req.param('id')), c.get('wallet').address, body?.authEntry));
  });

  // What the owner's wallet signs; the link is the capability (the id is 130 random bits).
  routes.get('/mandates/:id/approval', describeRoute({
    summary: 'The approve the owner signs: approve(owner, spender, allowance, live_until_ledger) on the USDC contract', tags: ['mandates'], auth: 'none', params: { id: 'the mandate id (md_…)' },
    responses: { 200: { description: 'the invocation to authorize', schema: mandateApprovalSchema } }, errors: ['MANDATE_NOT_FOUND', 'MANDATE_NOT_ACTIVE'],
  }), async (c) => c.json(await deps.mandates.approval(idParam(c.req.param('id')))));

  routes.post('/mandates/:id/approval', describeRoute({
    summary: "Submit the owner's signed approve authorization entry (card402 pays the fee)", tags: ['mandates'], auth: 'none', params: { id: 'the mandate id (md_…)' }, body: signedAuthEntrySchema,
    responses: { 200: { description: 'the mandate, active', schema: mandateSchema }, 202: { description: 'sent, not landed yet: the mandate becomes active when it does', schema: mandateSchema } },
    errors: ['MANDATE_NOT_FOUND', 'MANDATE_NOT_ACTIVE', 'INVALID_AUTH_ENTRY'],
  }), async (c) => {
    const body = await readJsonBody(c, signedAuthEntrySchema);
    const { mandate, pending } = await deps.mandates.approve(idParam(c.req.param('id')), body.authEntry);
    return c.json(mandate, pending ? 202 : 200);
  });

  routes.get('/mandates/:id/approve', describeRoute({
    summary: 'The approval page: the mandate and the CLI command to approve it', tags: ['mandates'], auth: 'none', params: { id: 'the mandate id (md_…)' },
    responses: { 200: { description: 'an HTML page', contentType: 'text/html' } }, errors: ['MANDATE_NOT_FOUND'],
  }), async (c) => {
    const mandate = await deps.mandates.getPublic(idParam(c.req.param('id')));
    return c.html(approvalPage(mandate), 200);
  });

  return routes;
}

/** Server-rendered, no script and no style: the app's CSP (`default-src 'none'`) applies as to every response. */
function approvalPage(m: MandateView) {
  const waiting = m.phase === 'requires-verification';
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>card402 mandate ${m.id}</title>
  </head>
  <body>
    <main>
      <h1>Spending mandate</h1>
      <p>An agent asks to buy virtual cards with your USDC, within these rules. You approve it once, on-chain: a USDC
        <code>approve</code> of <strong>${m.allowance} USDC</strong> to card402's mandate account, which you can revoke at any moment.</p>
      <dl>
        <dt>Mandate</dt><dd><code id="mandate-id">${m.id}</code></dd>
        <dt>Status</dt><dd id="phase">${m.phase}</dd>
        <dt>Agent</dt><dd><code>${m.agentAddress}</code></dd>
        <dt>Owner (you)</dt><dd><code>${m.ownerAddress}</code></dd>
        <dt>Spender (card402)</dt><dd><code>${m.spender}</code></dd>
        <dt>Allowance</dt><dd id="allowance">${m.allowance} USDC</dd>
        <dt>Expires</dt><dd>${m.expiresAt}</dd>
        ${m.note ? html`<dt>Note from the agent</dt><dd id="note">${m.note}</dd>` : ''}
      </dl>
      <h2>Rules</h2>
      <ul id="rules">
        ${m.rules.map((r) => html`<li>${r.amount} USDC ${r.period === 'total' ? 'in total' : r.period} (spent ${r.spent})</li>`)}
      </ul>
      ${waiting
        ? html`<h2>Approve from the command line</h2>
            <pre><code id="cli">card402 mandate approve ${m.approvalUrl}</code></pre>
            <p>The command shows these terms, and your wallet signs only the authorization of this <code>approve</code>; card402 pays the network fee.</p>`
        : html`<p id="closed">This mandate is ${m.phase}; there is nothing to approve.</p>`}
    </main>
  </body>
</html>`;
}
