import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { hash, Keypair, scValToNative, xdr } from '@stellar/stellar-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { APPROVAL_PAGE_CSP } from '../../src/http/routes/approve-page.js';
import { centsToAtomic } from '../../src/protocol/money/units.js';
import { answer, askForCard, ownerPayment, poll } from '../helpers/approvals.js';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { bodyOf } from '../helpers/http.js';
import { expectNothingLost, makePaidHarness, USDC, type PaidHarness } from '../helpers/paid.js';

const PRICE = centsToAtomic(3588);
/** Screenshots land here (gitignored). */
const OUTPUT_DIR = path.resolve('test-output');

let h: PaidHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/**
 * Stands in for the Freighter extension's content script: it answers freighter-api's window
 * messages (the same protocol the extension speaks) by asking the test, which signs with the
 * owner's key. The page's own code, and freighter-api's, run unchanged.
 */
const EXTENSION_STAND_IN = `
  window.addEventListener('message', async (event) => {
    const request = event.data;
    if (event.source !== window || !request || request.source !== 'FREIGHTER_EXTERNAL_MSG_REQUEST') return;
    const answer = JSON.parse(await window.card402TestWallet(JSON.stringify(request)));
    window.postMessage({ source: 'FREIGHTER_EXTERNAL_MSG_RESPONSE', messagedId: request.messageId, ...answer }, window.location.origin);
  });
`;

function testWallet(owner: Keypair, signed: xdr.HashIdPreimage[]) {
  return (json: string): string => {
    const request = JSON.parse(json) as { type: string; entryXdr?: string; accountToSign?: string };
    switch (request.type) {
      case 'REQUEST_CONNECTION_STATUS':
        return JSON.stringify({ isConnected: true });
      case 'REQUEST_ALLOWED_STATUS':
        return JSON.stringify({ isAllowed: true });
      case 'REQUEST_ACCESS':
      case 'REQUEST_PUBLIC_KEY':
        return JSON.stringify({ publicKey: owner.publicKey() });
      case 'SUBMIT_AUTH_ENTRY': {
        // Freighter signs the hash of the authorization preimage it is given.
        const preimage = xdr.HashIdPreimage.fromXDR(request.entryXdr!, 'base64');
        signed.push(preimage);
        const signature = owner.sign(hash(preimage.toXDR()));
        return JSON.stringify({ signedAuthEntry: signature.toString('base64'), signerAddress: owner.publicKey() });
      }
      default:
        return JSON.stringify({ apiError: { code: -1, message: `not supported: ${request.type}` } });
    }
  };
}

describe('the approval page in a browser', () => {
  it('shows the exact amount, rejects one request, and pays another with the owner’s wallet until completed', async () => {
    h = await makePaidHarness();
    const harness = h;
    const treasury = h.localnet.usdcBalance(h.keys.treasury.publicKey());
    const agent = h.agent(0n);
    const owner = h.agent(100n * USDC);
    const toReject = await askForCard(h, agent, { note: 'not this one' });
    const toApprove = await askForCard(h, agent, { note: 'team offsite' });

    const browser = await launchBrowser();
    const page = await openPage(browser);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && response.request().method() === 'GET') problems.push(`HTTP ${response.status()} for ${new URL(response.url()).pathname}`);
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    const signed: xdr.HashIdPreimage[] = [];
    await page.exposeFunction('card402TestWallet', testWallet(owner, signed));
    await page.addInitScript(EXTENSION_STAND_IN);

    // The request to reject.
    const opened = await page.goto(`${h.baseUrl}/approve/${toReject.id}?token=${toReject.token}`);
    expect(opened!.status()).toBe(200);
    const headers = opened!.headers();
    expect(headers['content-security-policy']).toBe(APPROVAL_PAGE_CSP);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(await page.textContent('#amount')).toBe('35.88 USDC');
    expect(await page.textContent('#pay-to')).toBe(h.keys.treasury.publicKey());
    expect(await page.content()).not.toContain(toReject.token);
    await page.click('#reject');
    await page.waitForSelector('#status[data-status="rejected"]');
    expect((await bodyOf(await poll(h, agent, toReject.id))).status).toBe('rejected');

    // The request to approve: the page's own code builds, has the wallet sign, and submits the payment.
    await page.goto(`${h.baseUrl}/approve/${toApprove.id}?token=${toApprove.token}`);
    expect(await page.textContent('#amount')).toBe('35.88 USDC');
    expect(await page.textContent('#status')).toBe('pending');
    await page.click('#approve');
    await page.waitForSelector('#status[data-status="completed"]', { timeout: 60_000 });
    expect(await page.textContent('#message')).toContain('Paid');
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'approval-page-completed.png'), fullPage: true });

    // The wallet signed one authorization: the USDC transfer of exactly the price, owner → treasury.
    expect(signed).toHaveLength(1);
    const invocation = signed[0]!.sorobanAuthorization().invocation().function().contractFn();
    expect(invocation.functionName().toString()).toBe('transfer');
    expect(invocation.args().map((arg) => scValToNative(arg))).toEqual([owner.publicKey(), h.keys.treasury.publicKey(), PRICE]);

    const polled = await bodyOf(await poll(h, agent, toApprove.id));
    expect(polled).toMatchObject({ status: 'completed', approverAddress: owner.publicKey(), card: { balanceCents: 2500, ownerAddress: owner.publicKey() } });
    expect(h.localnet.usdcBalance(owner.publicKey())).toBe(100n * USDC - PRICE);
    for (const token of [toReject.token, toApprove.token]) expect(h.logs.join('\n')).not.toContain(token);

    // A page left open updates itself when the request is answered elsewhere (here: from the CLI's code path).
    const elsewhere = await askForCard(h, agent);
    await page.goto(`${h.baseUrl}/approve/${elsewhere.id}?token=${elsewhere.token}`);
    expect(await page.textContent('#status')).toBe('pending');
    const paidElsewhere = await answer(h, elsewhere.id, 'approve', elsewhere.token, await ownerPayment(h, owner, elsewhere.id, elsewhere.token));
    expect(paidElsewhere.status).toBe(200);
    await page.waitForSelector('#status[data-status="completed"]', { timeout: 60_000 });
    expect(await page.isHidden('#actions')).toBe(true);
    await page.goto(`${h.baseUrl}/approve/${toApprove.id}?token=${toApprove.token}`);
    expect(await page.isHidden('#actions')).toBe(true);

    expect(problems).toEqual([]);
    await expectNothingLost(harness, treasury);
  });

  it('without a wallet in the browser: says so, pays nothing, and the request stays open', async () => {
    h = await makePaidHarness();
    const agent = h.agent(0n);
    const request = await askForCard(h, agent);
    const page = await openPage(await launchBrowser());
    await page.goto(`${h.baseUrl}/approve/${request.id}?token=${request.token}`);
    await page.click('#approve');
    await page.locator('#message', { hasText: 'no Freighter wallet found' }).waitFor({ timeout: 30_000 });
    expect(await page.textContent('#message')).toContain('card402 approve');
    expect(await page.isEnabled('#approve')).toBe(true);
    expect((await bodyOf(await poll(h, agent, request.id))).status).toBe('pending');
    expect(await h.db.selectFrom('payments').select('id').execute()).toHaveLength(0);
  });

  it('an unknown request or a wrong token shows nothing about any request', async () => {
    h = await makePaidHarness();
    const agent = h.agent(0n);
    const real = await askForCard(h, agent);
    const other = await askForCard(h, agent);
    for (const url of [`/approve/${real.id}?token=${other.token}`, `/approve/${real.id}`, `/approve/pr_${'0'.repeat(32)}?token=${real.token}`, '/approve/nope?token=x']) {
      const response = await fetch(h.baseUrl + url);
      expect(response.status, url).toBe(404);
      const text = await response.text();
      expect(text).toContain('not valid');
      expect(text).not.toContain('Ada');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});
