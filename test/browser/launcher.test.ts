import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { launchBrowser, openPage } from '../helpers/browser.js';
import { listen } from '../helpers/listen.js';

// The browser test infrastructure itself (test/helpers/browser.ts): a page served over real HTTP,
// its script run by Chromium, a click observed.
describe('headless Chromium', () => {
  it('loads a page served on loopback, runs its script and follows a click', async () => {
    const app = new Hono();
    app.get('/', (c) =>
      c.html(
        '<!doctype html><title>probe</title><button id="b">go</button><p id="out">idle</p>' +
          '<script>document.getElementById("b").addEventListener("click",()=>{document.getElementById("out").textContent="clicked "+location.pathname})</script>',
      ),
    );
    const base = await listen(app);
    const page = await openPage(await launchBrowser());
    await page.goto(base + '/');
    expect(await page.title()).toBe('probe');
    await page.click('#b');
    await expect.poll(() => page.textContent('#out')).toBe('clicked /');
  }, 60_000);
});
