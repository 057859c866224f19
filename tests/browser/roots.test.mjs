// Root pinning on first use: the inspector panel lists the pinned roots with their RFC 7638
// fingerprints, and a registry that later reports other roots raises a warning that is stored
// and shown on every load until the user acts. The changed roots are served by intercepting
// /v1/roots with Playwright's route().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';

const env = useServerAndBrowser();

/** RFC 7638 thumbprint of an OKP JWK: SHA-256 over {"crv","kty","x"}, base64url. */
function thumbprint(jwk) {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
}

const synced = (page) => page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));
const pinned = (page) => page.$$eval('[data-testid="roots-panel"] [data-testid="root"]',
  (els) => els.map((e) => ({ eco: e.dataset.eco, thumbprint: e.dataset.thumbprint, shown: e.querySelector('code').textContent })));

test('pinned_roots_show_their_fingerprints_and_a_root_change_warns_until_the_user_acts', async () => {
  // Before: the roots were invisible, and a change was a status line that the sync message
  // overwrote a moment later.
  const { roots } = await (await fetch(`${env.server.url}/v1/roots`)).json();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await synced(page);
  await page.locator('[data-testid="roots-panel"] summary').click();
  const shown = await pinned(page);
  assert.equal(shown.length, roots.length);
  for (const r of roots) {
    const row = shown.find((s) => s.eco === r.eco);
    const tp = thumbprint(r.root);
    assert.equal(row.thumbprint, tp, r.eco);
    const hex = Buffer.from(tp, 'base64url').subarray(0, 8).toString('hex').match(/.{4}/g).join(' ');
    assert.equal(row.shown, hex, `short fingerprint of ${r.eco}`);
  }
  assert.ok(await page.getByTestId('roots-warning').isHidden());

  // The registry now reports another key for the first ecosystem.
  const { publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  const changed = roots.map((r, i) => (i === 0 ? { eco: r.eco, root: { kty: 'OKP', crv: 'Ed25519', x } } : r));
  await context.route('**/v1/roots', (route) => route.fulfill({ json: { roots: changed } }));
  await page.getByTestId('sync').click();
  await page.getByTestId('roots-warning').waitFor({ state: 'visible' });
  assert.match(await page.getByTestId('roots-warning').textContent(), /reports other root keys/);
  const offered = await page.$$eval('#roots-offered [data-testid="root"]', (els) => els.map((e) => e.dataset.thumbprint));
  assert.ok(offered.includes(thumbprint({ kty: 'OKP', crv: 'Ed25519', x })));
  // The pinned roots are unchanged, and verification still uses them.
  assert.deepEqual((await pinned(page)).map((r) => r.thumbprint), shown.map((r) => r.thumbprint));

  // Persistent: still there after a reload, and after a sync where the registry is back to
  // normal, until the user acts.
  await page.reload();
  await pageReady(page);
  assert.ok(await page.getByTestId('roots-warning').isVisible(), 'shown again after a reload');
  await context.unroute('**/v1/roots');
  await page.getByTestId('sync').click();
  await synced(page);
  assert.ok(await page.getByTestId('roots-warning').isVisible(), 'a later sync does not hide it');

  // Keeping the pinned keys dismisses this change, for good.
  await page.getByTestId('roots-keep').click();
  await page.getByTestId('roots-warning').waitFor({ state: 'hidden' });
  await context.route('**/v1/roots', (route) => route.fulfill({ json: { roots: changed } }));
  await page.reload();
  await pageReady(page);
  await page.getByTestId('sync').click();
  await synced(page);
  assert.ok(await page.getByTestId('roots-warning').isHidden(), 'the same change, once dismissed, stays dismissed');
  await context.close();
});

test('trusting_new_roots_repins_and_drops_lists_the_old_roots_signed', async () => {
  const { roots } = await (await fetch(`${env.server.url}/v1/roots`)).json();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await synced(page);
  // Every root replaced by a key that signed nothing the registry serves.
  const changed = roots.map((r) => ({ eco: r.eco, root: { kty: 'OKP', crv: 'Ed25519', x: generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x } }));
  await context.route('**/v1/roots', (route) => route.fulfill({ json: { roots: changed } }));
  await page.getByTestId('sync').click();
  await page.getByTestId('roots-warning').waitFor({ state: 'visible' });
  await page.getByTestId('roots-accept').click();
  await page.getByTestId('roots-warning').waitFor({ state: 'hidden' });
  await page.waitForFunction(() => /Sync failed|Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));
  await page.locator('[data-testid="roots-panel"] summary').click();
  assert.deepEqual((await pinned(page)).map((r) => r.thumbprint).sort(), changed.map((r) => thumbprint(r.root)).sort());
  // The registry's lists are signed by the old roots: nothing verifies as genuine any more.
  const input = page.getByTestId('manual-input');
  await input.fill(env.server.sample('valid'));
  await input.press('Enter');
  const v = await verdictOf(page);
  assert.equal(v.overall, 'unverifiable');
  await context.close();
});
