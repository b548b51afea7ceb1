import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { formatCents } from '../../protocol/money/units.js';
import type { Authorization } from '../../protocol/spending.js';

/**
 * The sandbox checkout (issue #13): a merchant's payment page on the sandbox card network, where a
 * person or a browsing agent pays with a card402 card. Server-rendered with hono's html helper (every
 * value escaped), no script and no style: a plain form posted to the server, which answers the
 * outcome as a page. Card data is never written back into a page.
 */
export const CHECKOUT_PAGE_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface CheckoutOrder {
  merchant: string;
  mcc: string;
  country: string;
  /** What the merchant asks, as typed in the link (validated on payment). */
  amount: string;
}

function head(title: string) {
  return html`<head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${title} · card402 sandbox checkout</title>
  </head>`;
}

export function checkoutPage(order: CheckoutOrder, error?: string): HtmlEscapedString | Promise<HtmlEscapedString> {
  return html`<!doctype html>
<html lang="en">
  ${head(`Pay ${order.merchant}`)}
  <body>
    <main>
      <h1>Pay <span id="merchant">${order.merchant}</span></h1>
      <p>Amount: <strong id="amount">$${order.amount}</strong> (USD). This is the card402 <em>sandbox</em> card network: nothing real is charged.</p>
      ${error ? html`<p id="error" role="alert">${error}</p>` : ''}
      <form method="post" action="/sandbox/checkout" autocomplete="off">
        <input type="hidden" name="merchant" value="${order.merchant}" />
        <input type="hidden" name="mcc" value="${order.mcc}" />
        <input type="hidden" name="country" value="${order.country}" />
        <input type="hidden" name="amount" value="${order.amount}" />
        <p><label>Card number <input id="cardNumber" name="cardNumber" inputmode="numeric" required /></label></p>
        <p>
          <label>Expiry month <input id="expiryMonth" name="expiryMonth" inputmode="numeric" size="2" required /></label>
          <label>year <input id="expiryYear" name="expiryYear" inputmode="numeric" size="4" required /></label>
        </p>
        <p><label>CVV <input id="cvv" name="cvv" inputmode="numeric" size="4" required /></label></p>
        <p><button id="pay" type="submit">Pay $${order.amount}</button></p>
      </form>
    </main>
  </body>
</html>`;
}

export function checkoutResultPage(authorization: Authorization): HtmlEscapedString | Promise<HtmlEscapedString> {
  const approved = authorization.status === 'approved';
  const amount = formatCents(authorization.amountCents);
  return html`<!doctype html>
<html lang="en">
  ${head(approved ? 'Payment approved' : 'Payment declined')}
  <body>
    <main>
      <h1 id="outcome" data-status="${authorization.status}">${approved ? 'Payment approved' : 'Payment declined'}</h1>
      ${approved
        ? html`<p>$${amount} is held for <strong>${authorization.merchant.name}</strong>, who captures it when the order ships.</p>`
        : html`<p>Reason: <code id="reason">${authorization.declineReason ?? ''}</code>${authorization.declineDetail ? html` (<code>${authorization.declineDetail}</code>)` : ''}</p>`}
      <p>Authorization <code id="authorization">${authorization.id}</code></p>
    </main>
  </body>
</html>`;
}
