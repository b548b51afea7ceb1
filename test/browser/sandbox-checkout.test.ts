import { Keypair } from '@stellar/stellar-sdk';
import { describe, expect, it } from 'vitest';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { listen } from '../helpers/listen.js';
import { seedCard } from '../helpers/wallet.js';
import { makeSpendApp, signed } from '../spend/helpers.js';

describe('GET /sandbox/checkout in headless Chromium', () => {
  it('a person pays a sandbox merchant with a card402 card: approved, then declined, shown on the page; card data never comes back', async () => {
    const t = await makeSpendApp();
    const agent = Keypair.random();
    const card = await seedCard(t, { agent, loadCents: 2000 });
    const base = await listen(t.app);
    const page = await openPage(await launchBrowser());
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });

    const pay = async (amount: string) => {
      const res = await page.goto(`${base}/sandbox/checkout?merchant=${encodeURIComponent('Acme Books')}&mcc=5942&amount=${amount}`);
      expect(res?.headers()['content-security-policy']).toBe("default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
      expect(await page.textContent('#merchant')).toBe('Acme Books');
      expect(await page.textContent('#amount')).toBe(`$${amount}`);
      await page.fill('#cardNumber', card.details.cardNumber);
      await page.fill('#expiryMonth', String(card.details.expiryMonth));
      await page.fill('#expiryYear', String(card.details.expiryYear));
      await page.fill('#cvv', card.details.cvv);
      await Promise.all([page.waitForNavigation(), page.click('#pay')]);
    };

    await pay('12.50');
    expect(await page.getAttribute('#outcome', 'data-status')).toBe('approved');
    expect(await page.textContent('#outcome')).toBe('Payment approved');
    expect(await page.content()).not.toContain(card.details.cardNumber);
    expect((await signed(t, agent, 'GET', `/cards/${card.cardId}/balance`)).body).toMatchObject({ balanceCents: 750, heldCents: 1250 });

    await pay('8.00');
    expect(await page.getAttribute('#outcome', 'data-status')).toBe('declined');
    expect(await page.textContent('#reason')).toBe('insufficient_funds');
    const html = await page.content();
    expect(html).not.toContain(card.details.cardNumber);
    expect(html).not.toContain(`>${card.details.cvv}<`);

    // A mistyped field comes back as the form, naming it, without the card data typed.
    await page.goto(`${base}/sandbox/checkout?merchant=Acme&mcc=5942&amount=1.00`);
    await page.fill('#cardNumber', card.details.cardNumber);
    await page.fill('#expiryMonth', '13');
    await page.fill('#expiryYear', String(card.details.expiryYear));
    await page.fill('#cvv', card.details.cvv);
    await Promise.all([page.waitForNavigation(), page.click('#pay')]);
    expect(await page.textContent('#error')).toBe('Please check: expiryMonth');
    expect(await page.inputValue('#cardNumber')).toBe('');
    expect(await page.content()).not.toContain(card.details.cardNumber);
    expect(violations).toEqual([]);
  }, 90_000);
});
