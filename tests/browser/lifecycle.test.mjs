// A battery's life after its first use (issue 18, SPEC.md 1.2 section 3.4) in real Chromium
// against the real registry started with --demo: the lifecycle samples opened as a stock phone
// camera opens their labels (the page verifies the label, then the passport chain with its
// events), and offline after a sync (the lifecycle list travels with the other lists).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';

const env = useServerAndBrowser();

/** Opens a sample's label URL and waits until the passport panel has settled. */
async function open(name) {
  const url = env.server.sample(name);
  assert.ok(url, `the demo manifest names ${name}`);
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await verdictOf(page);
  await page.waitForSelector('[data-testid="passport-panel"]:not([data-state="loading"])', { timeout: 30_000 });
  return { context, page, v: await verdictOf(page) };
}

test('a_repurposed_original_is_genuine_and_names_its_successor', async () => {
  const { context, page, v } = await open('repurposed-original');
  assert.equal(v.overall, 'valid');
  assert.match(v.text, /newer passport exists/);
  const life = page.getByTestId('lifecycle');
  assert.equal(await life.getAttribute('data-status'), 'repurposed');
  assert.match(await life.textContent(), /This battery was repurposed on .+\. It now has a new passport:/);
  const link = page.getByTestId('successor-link');
  assert.equal(await link.count(), 1);
  assert.match(await link.getAttribute('href'), /\/01\/04071234000018\/21\/SL2029A0001$/);
  await context.close();
});

test('a_waste_battery_is_genuine_and_says_who_is_responsible', async () => {
  const { context, page, v } = await open('waste');
  assert.equal(v.overall, 'valid');
  const life = page.getByTestId('lifecycle');
  assert.equal(await life.getAttribute('data-status'), 'waste');
  assert.match(await life.textContent(), /declared waste .*Responsibility: Example Waste Services GmbH \(waste operator\)/);
  await context.close();
});

test('a_recycled_batterys_label_is_not_genuine_passport_ceased', async () => {
  const { context, page, v } = await open('recycled');
  assert.equal(v.overall, 'invalid');
  assert.equal(v.code, 'passport_ceased');
  assert.match(v.text, /Not genuine/);
  assert.match(v.text, /recycled and its passport has ended/);
  assert.equal(await page.getByTestId('lifecycle').getAttribute('data-status'), 'recycled');
  await context.close();
});

test('offline_after_a_sync_the_lifecycle_list_decides_the_same', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.getByTestId('sync').click();
  await page.waitForFunction(() => /2 trust lists/.test(document.querySelector('[data-testid="sync-status"]').textContent));
  await context.setOffline(true);
  await page.reload();
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  await input.fill(env.server.sample('recycled'));
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="passport_ceased"]');
  await input.fill(env.server.sample('waste'));
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-overall="valid"]');
  const v = await verdictOf(page);
  assert.match(v.text, /declared waste/);
  // Offline there is no event to read: the status alone, from the synced list.
  assert.match(v.text, /Life after first use\s*declared waste/);
  await context.close();
});

test('a_second_life_battery_shows_its_originals_each_verified', async () => {
  const { context, page, v } = await open('second-life');
  assert.equal(v.overall, 'valid');
  const entries = page.getByTestId('lineage-entry');
  assert.equal(await entries.count(), 2);
  for (const o of await entries.evaluateAll((els) => els.map((e) => e.dataset.outcome))) assert.equal(o, 'verified');
  assert.match(await page.getByTestId('lineage').textContent(), /verified, passport by ACME Cells GmbH/);
  await context.close();
});
