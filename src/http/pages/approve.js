// The approval page's own script (issue 16). Plain browser JavaScript, served by card402 as a
// static file: no build step, no CDN. It reads the request id from the path and the token from the
// address bar, and pays with the owner's browser wallet through Freighter's API:
//   requestAccess → the server prepares the USDC transfer to the treasury (simulated, unsigned) →
//   the wallet signs its auth entry (signAuthEntry) → this page builds the x402 `exact` payment and
//   submits it → it follows the request until it is completed or failed.
(function () {
  'use strict';

  var Sdk = window.StellarSdk;
  var wallet = window.freighterApi;
  var FINAL = ['completed', 'rejected', 'expired', 'failed'];
  var POLL_MS = 1000;

  var match = /^\/approve\/(pr_[0-9a-f]{32})\/?$/.exec(window.location.pathname);
  var token = new URLSearchParams(window.location.search).get('token') || '';
  var statusEl = document.getElementById('status');
  var actions = document.getElementById('actions');
  var approveButton = document.getElementById('approve');
  var rejectButton = document.getElementById('reject');
  var message = document.getElementById('message');
  var amountAtomic = document.getElementById('amount') && document.getElementById('amount').getAttribute('data-atomic');
  var payToShown = document.getElementById('pay-to') && document.getElementById('pay-to').textContent;
  if (!match || !statusEl) return;
  var id = match[1];
  var base = '/payment-requests/' + id + '/approval';

  function say(text) {
    message.textContent = text;
  }

  function show(status) {
    statusEl.textContent = status;
    statusEl.setAttribute('data-status', status);
    if (actions) actions.hidden = status !== 'pending';
  }

  function busy(on) {
    if (approveButton) approveButton.disabled = on;
    if (rejectButton) rejectButton.disabled = on;
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  async function call(path, init) {
    var response = await fetch(path, Object.assign({ credentials: 'omit', cache: 'no-store' }, init || {}));
    var body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = {};
    }
    return { status: response.status, body: body };
  }

  function post(path, body, headers) {
    return call(path, { method: 'POST', headers: Object.assign({ 'content-type': 'application/json' }, headers || {}), body: JSON.stringify(body) });
  }

  function base64Json(value) {
    var bytes = new TextEncoder().encode(JSON.stringify(value));
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  /** A wallet's signature: base64 text (Freighter 5+), or bytes in older forms. */
  function signatureBytes(signed) {
    if (typeof signed === 'string') {
      var raw = atob(signed);
      var out = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
      return out;
    }
    if (signed && signed.data) return Uint8Array.from(signed.data);
    return Uint8Array.from(signed || []);
  }

  async function refresh() {
    var answer = await call(base + '?token=' + encodeURIComponent(token));
    if (answer.status === 200) show(answer.body.status);
    return answer;
  }

  var following = false;

  /** Follows the request (whoever answers it: this page, the CLI, another tab) until it is final. */
  async function follow() {
    if (following) return;
    following = true;
    for (;;) {
      var answer = await refresh();
      var status = answer.body.status;
      if (answer.status === 200 && FINAL.indexOf(status) >= 0) {
        if (status === 'completed') say('Paid. The card is ready for the agent.');
        else if (status === 'failed') say('The card could not be provided; your payment is refunded on-chain.');
        else say('This request is ' + status + '.');
        return;
      }
      await sleep(POLL_MS);
    }
  }

  async function approve() {
    busy(true);
    try {
      if (!wallet || !Sdk) throw new Error('the wallet library did not load');
      say('Connecting to your wallet…');
      // Without the extension nothing would ever answer: freighter-api says so after 2 s.
      var connected = await wallet.isConnected();
      if (!connected || !connected.isConnected) {
        throw new Error('no Freighter wallet found in this browser: install it (freighter.app), or approve from the command line with card402 approve \'<this page\'s address>\'');
      }
      var access = await wallet.requestAccess();
      if (access.error || !access.address) throw new Error('the wallet did not share an address' + (access.error ? ': ' + access.error.message : ''));
      var payer = access.address;

      say('Preparing the USDC transfer…');
      var prepared = await post(base + '/prepare', { token: token, payer: payer });
      if (prepared.status !== 200) throw new Error(prepared.body.error || 'the transfer could not be prepared');
      var required = prepared.body.paymentRequired;
      var accepted = required.accepts[0];
      var passphrase = prepared.body.networkPassphrase;
      // What is signed must be what the page shows: the exact price, to the treasury shown.
      if (String(accepted.amount) !== String(amountAtomic) || accepted.payTo !== payToShown) throw new Error('the prepared payment does not match this request');

      var envelope = Sdk.xdr.TransactionEnvelope.fromXDR(prepared.body.transaction, 'base64');
      var operation = envelope.v1().tx().operations()[0];
      var invoke = operation.body().invokeHostFunctionOp();

      say('Approve the payment in your wallet…');
      var signer = async function (preimage) {
        var result = await wallet.signAuthEntry(preimage.toXDR('base64'), { networkPassphrase: passphrase, address: payer });
        if (result.error || !result.signedAuthEntry) throw new Error('the wallet did not sign' + (result.error ? ': ' + result.error.message : ''));
        return signatureBytes(result.signedAuthEntry);
      };
      var signed = [];
      var entries = invoke.auth();
      for (var i = 0; i < entries.length; i++) {
        signed.push(await Sdk.authorizeEntry(entries[i], signer, prepared.body.expirationLedger, passphrase));
      }
      invoke.auth(signed);

      var payment = { x402Version: 2, resource: required.resource, accepted: accepted, payload: { transaction: envelope.toXDR('base64') } };
      say('Paying ' + document.getElementById('amount').textContent + '…');
      var paid = await post(base, { action: 'approve', token: token }, { 'PAYMENT-SIGNATURE': base64Json(payment) });
      if (paid.status === 200) {
        show('completed');
        say('Paid. The card is ready for the agent.');
        return;
      }
      if (paid.status === 409 && paid.body.code === 'PAYMENT_IN_PROGRESS') {
        say('Payment sent; waiting for it to settle on Stellar…');
        return;
      }
      throw new Error(paid.body.error || 'the payment was refused (' + paid.status + ')');
    } catch (err) {
      say('Not paid: ' + (err && err.message ? err.message : String(err)));
      busy(false);
      await refresh();
    }
  }

  async function reject() {
    busy(true);
    var answer = await post(base, { action: 'reject', token: token });
    if (answer.status === 200) {
      show('rejected');
      say('Rejected. Nothing was paid.');
      return;
    }
    say(answer.body.error || 'The request could not be rejected.');
    busy(false);
    await refresh();
  }

  if (approveButton) approveButton.addEventListener('click', approve);
  if (rejectButton) rejectButton.addEventListener('click', reject);
  if (FINAL.indexOf(statusEl.getAttribute('data-status')) < 0) follow();
})();
