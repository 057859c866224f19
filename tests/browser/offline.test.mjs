// Inspector flow: install (service worker), sync the registry's bundle, take the network away
// (Playwright offline mode, and the server stopped), reload, scan: the verdict is shown with the
// age of the data; data past its validity is flagged stale, never shown as fresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';

const env = useServerAndBrowser();

test('offline: sync, network gone, reload, scan, verdict with data age; stale flagged', async () => {
  const valid = env.server.sample('valid');
  const revoked = env.server.sample('revoked');
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.getByTestId('sync').click();
  await page.waitForFunction(() => /2 trust lists/.test(document.querySelector('[data-testid="sync-status"]').textContent));

  await env.server.stop();
  await context.setOffline(true);
  await page.reload();
  await pageReady(page);
  assert.equal(await page.getByTestId('network').textContent(), 'Offline');
  assert.equal(await page.evaluate(() => fetch('/v1/bundle').then(() => 'reached', () => 'unreachable')), 'unreachable');

  const input = page.getByTestId('manual-input');
  await input.fill(valid);
  await input.press('Enter');
  let v = await verdictOf(page);
  assert.equal(v.overall, 'valid');
  assert.match(v.age, /trust lists \d+ (s|min|h) old, status lists \d+ (s|min|h) old/);
  assert.doesNotMatch(v.age, /STALE/);
  await input.fill(revoked);
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="revoked"]');

  // Sixty days later, still offline: the synced lists are past their validity.
  await page.clock.install({ time: new Date(Date.now() + 60 * 86_400_000) });
  await page.reload();
  await pageReady(page);
  await input.fill(valid);
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-overall="unverifiable"]');
  v = await verdictOf(page);
  assert.match(v.code, /^(trust_list_stale|status_stale)$/);
  assert.match(v.age, /STALE/);
  assert.doesNotMatch(v.text, /Genuine/);
  // The session log survived the reloads.
  assert.ok(await page.getByTestId('scan-row').count() >= 2);
  await context.close();
});
