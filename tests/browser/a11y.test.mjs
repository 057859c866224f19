// Accessibility and phone width (issue 16): axe-core (npm, injected into the page) finds no
// violation at all, of any impact, on every view the page has: the start page, a consumer
// verdict with its recycled-content table, the passport panel, an unreadable code in the
// session list and inspector mode; and at 390 px a long code wraps inside its session row
// instead of overflowing the card. Real Chromium against the real registry started with --demo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { useServerAndBrowser, verdictOf, pageReady } from './support/env.mjs';

const env = useServerAndBrowser();
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** A 390 px phone-width page; `bypassCSP` lets the test inject axe-core's script (the page's
 * CSP allows its own scripts only). */
async function phonePage() {
  const context = await env.browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  return { context, page };
}

/** axe-core's violations on the page as it is now, one line each: rule, impact, elements. */
async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) })));
  return found.map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

/** Nothing wider than the screen, and every session row inside its card. */
async function overflow(page) {
  return page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) {
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.dataset.testid ? `[${e.dataset.testid}]` : ''}`);
      out.push(`page ${document.documentElement.scrollWidth} px > ${window.innerWidth} px: ${wide.join(' ')}`);
    }
    for (const row of document.querySelectorAll('[data-testid="scan-row"]')) {
      const card = row.closest('.card').getBoundingClientRect();
      const r = row.getBoundingClientRect();
      if (r.right > card.right || row.scrollWidth > row.clientWidth) out.push(`row ${Math.round(r.right)} px > card ${Math.round(card.right)} px (scroll ${row.scrollWidth} > ${row.clientWidth})`);
    }
    return out;
  });
}

test('axe-core finds no violation on the start page, a consumer verdict and the passport panel', async () => {
  const { context, page } = await phonePage();
  try {
    await page.goto(`${env.server.url}/`);
    await pageReady(page);
    assert.deepEqual(await violations(page), [], 'start page');
    // The verdict with its recycled-content table (a header per column, the first included).
    await page.goto(env.server.sample('valid'));
    assert.equal((await verdictOf(page)).overall, 'valid');
    await pageReady(page);
    assert.ok(await page.getByTestId('recycled').count() > 0, 'the verdict shows the recycled-content table');
    assert.deepEqual(await violations(page), [], 'consumer verdict');
    await page.goto(env.server.sample('passport-valid'));
    await verdictOf(page);
    await page.waitForSelector('[data-testid="passport-panel"][data-state="verified"]', { timeout: 30_000 });
    assert.deepEqual(await violations(page), [], 'passport panel');
  } finally {
    await context.close();
  }
});

test('at 390 px a long code wraps inside its session row; axe-core finds no violation in the session list or inspector mode', async () => {
  const { context, page } = await phonePage();
  try {
    await page.goto(`${env.server.url}/`);
    await pageReady(page);
    // A long unbreakable code (a handheld scanner's misread, a long serial): unreadable, listed.
    const long = `HTTPS://ID.EXAMPLE/01/04012345000016/21/${'X'.repeat(90)}`;
    await page.getByTestId('manual-input').fill(long);
    await page.getByTestId('manual-input').press('Enter');
    await page.getByTestId('scan-row').first().waitFor();
    // And a verified one whose serial row is long too.
    await page.getByTestId('manual-input').fill(env.server.sample('valid'));
    await page.getByTestId('manual-input').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"]').length === 2);
    assert.deepEqual(await overflow(page), []);
    assert.deepEqual(await violations(page), [], 'session list');
    await page.getByTestId('inspector-toggle').click();
    await page.getByTestId('inspector-panel').waitFor();
    // The mode's own stylesheet, loaded on entry.
    await page.waitForFunction(() => [...document.styleSheets].some((x) => x.href?.endsWith('/inspector.css')));
    assert.deepEqual(await overflow(page), []);
    assert.deepEqual(await violations(page), [], 'inspector mode');
  } finally {
    await context.close();
  }
});
