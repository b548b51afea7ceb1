import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { formatCents } from '../../protocol/money/units.js';
import type { ApprovalView } from '../../protocol/payment-requests.js';

/**
 * The approval page (issue 16), rendered on the server with hono's html helper (every value
 * escaped). It holds no secret: the token stays in the address bar, where the page's own script
 * (approve.js) reads it.
 */
export function approvalPage(view: ApprovalView): HtmlEscapedString | Promise<HtmlEscapedString> {
  const requested =
    'nameOnCard' in view.requested
      ? html`a new virtual card for <strong>${view.requested.nameOnCard}</strong> (${view.requested.email}), loaded with
          <strong>$${dollars(view.price.loadCents)}</strong>`
      : html`a top-up of <strong>$${dollars(view.price.loadCents)}</strong> on card <code>${view.requested.cardId}</code>`;
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>Approve a card purchase · card402</title>
    <link rel="icon" href="/approve/assets/icon.svg" />
    <link rel="stylesheet" href="/approve/assets/approve.css" />
  </head>
  <body>
    <main>
      <h1>An agent asks you to pay for a card</h1>
      <p class="lead">The agent <code>${view.agentAddress}</code> asks for ${requested}.</p>
      ${view.note ? html`<p class="note">Its note: “${view.note}”</p>` : ''}
      <dl>
        <dt>You pay</dt>
        <dd><strong id="amount" data-atomic="${view.price.amountAtomic}">${view.price.amount} USDC</strong> <span class="muted">(exactly ${view.price.amountAtomic} atomic units)</span></dd>
        <dt>Breakdown</dt>
        <dd>load $${dollars(view.price.loadCents)} + card fee $${dollars(view.price.cardFeeCents)} + top-up fee $${dollars(view.price.topUpFeeCents)}</dd>
        <dt>Paid to</dt>
        <dd><code id="pay-to">${view.payTo}</code> (card402's treasury) on ${view.network}, asset <code>${view.asset}</code></dd>
        <dt>Card holder</dt>
        <dd>the agent above; you become the card's owner</dd>
        ${view.ownerAddress ? html`<dt>Only payable by</dt><dd><code>${view.ownerAddress}</code></dd>` : ''}
        <dt>Expires</dt>
        <dd>${view.expiresAt}</dd>
      </dl>
      <p>Status: <strong id="status" data-status="${view.status}">${view.status}</strong></p>
      <div id="actions" ${view.status === 'pending' ? '' : 'hidden'}>
        <button id="approve" type="button">Approve and pay ${view.price.amount} USDC with Freighter</button>
        <button id="reject" type="button" class="secondary">Reject</button>
      </div>
      <p id="message" role="status" aria-live="polite"></p>
    </main>
    <script src="/approve/assets/stellar-sdk.js"></script>
    <script src="/approve/assets/freighter-api.js"></script>
    <script src="/approve/assets/approve.js"></script>
  </body>
</html>`;
}

/** A page for an unknown request or a wrong token: nothing about any request. */
export function approvalNotFoundPage(): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Not found · card402</title>
    <link rel="icon" href="/approve/assets/icon.svg" />
    <link rel="stylesheet" href="/approve/assets/approve.css" />
  </head>
  <body>
    <main><h1>This approval link is not valid</h1><p>Ask the agent for a new link.</p></main>
  </body>
</html>`;
}

const dollars = formatCents;
