// The service worker keeps only the app shell: visiting another same-origin page online must
// not replace the offline page. Real Chromium, the real registry, then offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';

const env = useServerAndBrowser();

test('service_worker_never_caches_another_page_as_the_offline_shell', async () => {
  // Before: every navigation response was stored as /index.html, so one visit to /metrics
  // made the offline "page" a metrics dump.
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller != null);
  await page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));
  // Same-origin pages that are not the shell, through the service worker.
  for (const path of ['/metrics', '/openapi.json', '/no-such-page']) {
    const res = await page.goto(`${env.server.url}${path}`);
    assert.ok(res, path);
  }
  const cached = await page.evaluate(async () => {
    const keys = [];
    for (const name of await caches.keys()) {
      const c = await caches.open(name);
      for (const r of await c.keys()) keys.push(new URL(r.url).pathname);
    }
    return keys;
  });
  assert.ok(!cached.some((k) => /metrics|openapi|no-such/.test(k)), `cached: ${cached}`);

  await env.server.stop();
  await context.setOffline(true);
  await page.goto(env.server.sample('valid'));
  await pageReady(page);
  const v = await verdictOf(page);
  assert.equal(v.overall, 'valid');
  assert.match(v.text, /Genuine/);
  // The root URL too.
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await context.close();
});
