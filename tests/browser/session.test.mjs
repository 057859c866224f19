// The dealer's session: a code in the camera's view is verified and rendered once, a code
// scanned again is counted on its row (a copied label is the same credential on two batteries),
// and every scan writes one IndexedDB record instead of rewriting the whole session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, launchWithCamera, pageReady } from './support/env.mjs';
import { writeY4m } from './support/codes.mjs';

let server;
let dir;

before(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'cellproof-session-'));
});
after(async () => {
  await server?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Records every IndexedDB put: which store, and whether the value was a whole array. */
function recordPuts() {
  window.__puts = [];
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function recorded(value, key) {
    window.__puts.push({ store: this.name, key: key ?? value?.key ?? null, array: Array.isArray(value) });
    return put.call(this, value, key);
  };
}

const rows = (page) => page.$$eval('[data-testid="scan-row"]', (els) => els.map((e) => ({ overall: e.dataset.overall, seen: e.dataset.seen })));

async function scan(page, code) {
  const input = page.getByTestId('manual-input');
  await input.fill(code);
  await input.press('Enter');
}

test('code_in_camera_view_is_verified_and_rendered_once', async () => {
  // Before: every decoded frame with a code in view re-verified and re-rendered the verdict,
  // and only then the duplicate check dropped it.
  const video = join(dir, 'codes.y4m');
  await writeY4m(video, [server.sample('valid'), server.sample('revoked')], { framesEach: 15 });
  const browser = await launchWithCamera(video);
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));
    await page.getByTestId('camera-toggle').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"]').length >= 2, null, { timeout: 60_000 });
    const atTwo = await page.evaluate(() => ({ ...window.cellproofMetrics }));
    // The looping video keeps both codes in view for several more seconds.
    await page.waitForTimeout(4000);
    const m = await page.evaluate(() => ({ ...window.cellproofMetrics }));
    assert.ok(m.frames > atTwo.frames + 5, `frames kept coming (${atTwo.frames} -> ${m.frames})`);
    assert.equal(m.verifications, 2, 'one verification per new code');
    assert.equal(m.renders, 2, 'one rendered verdict per new code');
    assert.equal((await rows(page)).length, 2);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('code_scanned_again_is_counted_on_its_row_not_dropped', async () => {
  // Before: a second scan of the same code was dropped silently, so a copied label on a
  // second battery left no trace in the session.
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    const valid = server.sample('valid');
    await scan(page, valid);
    await scan(page, server.sample('revoked'));
    await scan(page, valid);
    await page.waitForSelector('[data-testid="scan-row"][data-seen="2"]');
    assert.deepEqual((await rows(page)).sort((a, b) => a.overall.localeCompare(b.overall)),
      [{ overall: 'invalid', seen: '1' }, { overall: 'valid', seen: '2' }]);
    assert.match(await page.getByTestId('seen-count').textContent(), /seen 2 times/);
    // The verdict on screen is the repeated code's, with the warning.
    assert.equal(await page.getByTestId('verdict').getAttribute('data-overall'), 'valid');
    assert.match(await page.getByTestId('seen-again').textContent(), /Scanned before in this session \(2 times/);
    const m = await page.evaluate(() => window.cellproofMetrics);
    assert.equal(m.verifications, 3, 'a deliberate repeat is verified again (status may have changed), once');
    assert.equal(m.renders, 3);
    // The CSV says it too.
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const text = await (await import('node:fs/promises')).readFile(await d.path(), 'utf8');
    const lines = text.trim().split('\r\n');
    const head = lines[0].split(',');
    const seen = head.indexOf('"seen"');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[seen]).sort(), ['"1"', '"2"']);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('each_scan_writes_one_indexeddb_record_not_the_whole_session', async () => {
  // Before: every scan wrote the whole session array to IndexedDB (quadratic over a day).
  const browser = await launch();
  try {
    const context = await browser.newContext();
    await context.addInitScript(recordPuts);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    const codes = ['valid', 'revoked', 'suspended', 'valid', 'revoked'].map((n) => server.sample(n));
    for (const c of codes) await scan(page, c);
    await page.waitForFunction(() => window.__puts.filter((p) => p.store === 'scans').length >= 5);
    const puts = await page.evaluate(() => window.__puts);
    const scanPuts = puts.filter((p) => p.store === 'scans');
    assert.equal(scanPuts.length, codes.length, 'one write per scan');
    assert.ok(puts.every((p) => !p.array), 'no write of a whole session array');
    assert.ok(!puts.some((p) => p.key === 'session'), 'no session blob');
    // The records are the session: a reload restores rows and repeat counts.
    await page.reload();
    await pageReady(page);
    const restored = (await rows(page)).map((r) => r.seen).sort();
    assert.deepEqual(restored, ['1', '2', '2']);
    await context.close();
  } finally {
    await browser.close();
  }
});
