// Inspector flow: install (service worker), sync the registry's trust and status lists, take
// the network away (Playwright offline mode, and the server stopped), reload, scan: the verdict
// is shown with the age of the data; data past its validity is flagged stale, never shown as
// fresh. Status lists come in the compact form, then as deltas (docs/status-sync.md): a
// revocation made at the registry after the first sync reaches the page through `?since=`, and a
// delta that does not apply is replaced by the full body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';

const env = useServerAndBrowser();
const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** Sets a sample's status bit at the registry as its issuer would: a signed `POST /v1/status`
 * (docs/server.md) with the demo issuer's key. */
async function setStatus(server, name, purpose, value) {
  const sample = server.manifest.samples.find((x) => x.name === name);
  const issuer = server.manifest.issuers.find((i) => i.did === sample.issuer || i.slug === sample.issuer);
  const jwk = JSON.parse(await readFile(join(server.data, issuer.key), 'utf8'));
  const payload = { iss: issuer.did, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), aud: server.manifest.server,
    op: 'status', list: String(sample.list), index: sample.index, purpose, value };
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  const input = `${b64u(JSON.stringify({ alg: 'EdDSA', kid: issuer.kid, typ: 'registry-request+jwt' }))}.${b64u(JSON.stringify(payload))}`;
  const res = await fetch(`${server.url}/v1/status`, {
    method: 'POST', headers: { 'Content-Type': 'application/jwt' }, body: `${input}.${b64u(sign(null, Buffer.from(input), key))}`,
  });
  assert.equal(res.status, 200, await res.text());
}

/** The page's sync fetches of status bodies so far: [{path, bytes}]. */
const syncFetches = (page) => page.evaluate(() => window.cellproofMetrics.syncFetches ?? []);
const syncStatus = (page) => page.getByTestId('sync-status');
/** How many lists a compact body carries: `lists` of its signed head (docs/status-sync.md). */
const listsIn = (body) => JSON.parse(Buffer.from(body.subarray(0, body.indexOf(10)).toString().split('.')[1], 'base64url')).lists;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs before the test below, which stops the server: this one needs it to the end.
test('incremental sync: a revocation arrives as a delta of the changed lists only, survives an offline reload; a delta that does not apply (tampered, or from a base not held) falls back to the full body', async () => {
  const name = 'passport-valid';
  const label = env.server.sample(name);
  // A delta gives full records to lists dated within two seconds below `since` (they may have
  // been signed after the client's copy: docs/status-sync.md). The demo signs all its lists at
  // start: the page's `since` is made a later change's, past that window (a validFrom may lead
  // the clock by a second: five seconds leave a margin).
  await sleep(5000);
  await setStatus(env.server, name, 'suspension', true);
  await setStatus(env.server, name, 'suspension', false);
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const bodies = [];
  page.on('response', async (res) => {
    if (res.url().includes('/v1/status-compact')) bodies.push({ url: res.url(), body: await res.body() });
  });
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  // The first visit synced: the full compact body, no bundle.
  assert.equal(await syncStatus(page).getAttribute('data-via'), 'full');
  const [first] = await syncFetches(page);
  assert.equal(first.path, '/v1/status-compact');
  const input = page.getByTestId('manual-input');
  await input.fill(label);
  await input.press('Enter');
  assert.equal((await verdictOf(page)).overall, 'valid');

  await sleep(3500);
  await setStatus(env.server, name, 'revocation', true);
  await page.getByTestId('sync').click();
  await page.waitForSelector('[data-testid="sync-status"][data-via="delta"]');
  const delta = (await syncFetches(page)).at(-1);
  // The delta is asked from the registry's cursor of the body applied before (Cellproof-Cursor,
  // docs/status-sync.md), not from the page's newest validFrom: it never depends on the
  // registry's clock going forward.
  assert.match(first.cursor, /^[0-9a-f]{16}-\d+-\d+$/);
  assert.equal(delta.path, `/v1/status-compact?since=${first.cursor}`);
  assert.equal(await syncStatus(page).getAttribute('data-fallback'), '');
  await page.waitForFunction((n) => (window.cellproofMetrics.syncFetches ?? []).length === n, 2);
  const [fullBody, deltaBody] = bodies.map((b) => b.body);
  assert.equal(deltaBody.length, delta.bytes);
  console.log(`# figures: demo status sync: full compact body ${first.bytes} B (${listsIn(fullBody)} lists), `
    + `delta after one revocation ${delta.bytes} B (${listsIn(deltaBody)} lists)`);
  // Only the changed lists: the revocation list, and the suspension list changed just before
  // the first sync (inside the window above). The signed head (about 330 B) is most of either
  // body in the demo; at 100 million entries the delta is 5% of the full body
  // (docs/BENCHMARKS.md).
  assert.ok(listsIn(deltaBody) <= 2 && listsIn(deltaBody) < listsIn(fullBody), `${listsIn(deltaBody)} of ${listsIn(fullBody)} lists`);
  assert.ok(delta.bytes < first.bytes, `delta ${delta.bytes} B, full ${first.bytes} B`);
  // The sync re-checked the verdict on screen: now revoked, from the delta.
  await page.waitForSelector('[data-testid="verdict"][data-code="revoked"]');
  assert.equal(await page.evaluate(() => navigator.onLine), true);

  // Offline, reloaded: the stored full body and delta are verified again, the label is still
  // revoked and the data's age is shown, not stale.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await page.reload();
  await pageReady(page);
  await input.fill(label);
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="revoked"]');
  const off = await verdictOf(page);
  assert.match(off.age, /status lists \d+ (s|min|h) old/);
  assert.doesNotMatch(off.age, /STALE/);
  await context.setOffline(false);

  // Another battery suspended at the registry; the delta that comes is tampered on the way (one
  // byte of the stream flipped): it is refused whole, the page names the code and syncs the full
  // body instead, which carries the suspension.
  const other = 'attestation-out-of-scope';
  const otherSample = () => env.server.manifest.samples.find((x) => x.name === other);
  await setStatus(env.server, other, 'suspension', true);
  await page.route('**/v1/status-compact?since=*', async (route) => {
    const res = await route.fetch();
    const body = Buffer.from(await res.body());
    body[body.length - 1] ^= 0x01;
    await route.fulfill({ response: res, body });
  });
  const before = (await syncFetches(page)).length;
  await page.getByTestId('sync').click();
  await page.waitForSelector('[data-testid="sync-status"][data-via="full"]');
  const fallback = await syncStatus(page).getAttribute('data-fallback');
  console.log(`# figures: tampered delta refused with ${fallback}; full body fetched instead`);
  assert.match(fallback, /^[a-z_]+$/);
  assert.match(await syncStatus(page).textContent(), /Synced/);
  const after = (await syncFetches(page)).slice(before).map((f) => f.path);
  assert.deepEqual(after.map((p) => p.replace(/=[0-9a-f-]+$/, '=T')), ['/v1/status-compact?since=T', '/v1/status-compact']);
  await input.fill(env.server.sample(other));
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="suspended"]');
  await page.unroute('**/v1/status-compact?since=*');

  // A delta from a base the page does not hold: the battery is reinstated, then suspended again
  // seconds later, and the page's request asks for the changes since just after the
  // reinstatement (route()), though it holds the list from before it. The registry answers a
  // delta from the reinstated version: `status_delta_base`, and the full body instead.
  await setStatus(env.server, other, 'suspension', false);
  const issuer = env.server.manifest.issuers.find((i) => i.did === otherSample().issuer || i.slug === otherSample().issuer);
  const w3c = (await (await fetch(`${issuer.statusBase}${otherSample().list}-suspension`)).text()).trim();
  const reinstated = Math.floor(Date.parse(JSON.parse(Buffer.from(w3c.split('.')[1], 'base64url')).validFrom) / 1000);
  // The registry records a version for deltas when it rebuilds the compact body, at the next
  // GET of it after a burst of changes: this one makes the reinstated version a delta's base.
  assert.equal((await fetch(`${env.server.url}/v1/status-compact`)).status, 200);
  // The next version must be dated more than two seconds after it (the window above), and a
  // validFrom may lead the clock by a second: five seconds leave a margin.
  await sleep(5000);
  await setStatus(env.server, other, 'suspension', true);
  await page.route('**/v1/status-compact?since=*', (route) => route.continue({ url: route.request().url().replace(/since=[^&]+/, `since=${reinstated + 2}`) }));
  await page.getByTestId('sync').click();
  await page.waitForSelector('[data-testid="sync-status"][data-fallback="status_delta_base"][data-via="full"]');
  await input.fill(env.server.sample(other));
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="suspended"]');
  await page.unroute('**/v1/status-compact?since=*');

  // A registry from before the compact form (the route answers 404): the W3C bundle, and the
  // stored compact bodies are dropped (every list is then held in its W3C text).
  await page.route('**/v1/status-compact*', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.getByTestId('sync').click();
  await page.waitForSelector('[data-testid="sync-status"][data-via="bundle"]');
  const stored = await page.evaluate(async () => {
    const t = await (await import('/store.js')).get('trust');
    return { chain: t.chain.length, statusLists: t.held.statusLists.length };
  });
  assert.equal(stored.chain, 0);
  assert.ok(stored.statusLists >= 12, JSON.stringify(stored));
  await input.fill(env.server.sample(other));
  await input.press('Enter');
  await page.waitForSelector('[data-testid="verdict"][data-code="suspended"]');
  await page.unroute('**/v1/status-compact*');
  await context.close();
});

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
