// Dealer flow: the in-page scanner fed by Chromium's fake camera (a Y4M video of QR codes made
// here), continuous scanning into a session list without duplicates, a keyboard-wedge scanner
// and pasting, and the CSV export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, launchWithCamera, pageReady } from './support/env.mjs';
import { writeY4m, writeLumaY4m, tamper, qrModules } from './support/codes.mjs';

let server;
let dir;

before(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'cellproof-cam-'));
});
after(async () => {
  await server?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; } else if (ch === '\n') { row.push(cell.replace(/\r$/, '')); rows.push(row); row = []; cell = ''; } else cell += ch;
  }
  return rows;
}

async function exportCsv(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  return parseCsv(await readFile(await download.path(), 'utf8'));
}

test('fake camera: codes in the video are scanned continuously, once each', async () => {
  const valid = server.sample('valid');
  const revoked = server.sample('revoked');
  const video = join(dir, 'codes.y4m');
  await writeY4m(video, [valid, revoked], { framesEach: 15 });
  const browser = await launchWithCamera(video);
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await page.getByTestId('camera-toggle').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"]').length >= 2, null, { timeout: 60_000 });
    // Let the looping video show both codes again: still two rows.
    await page.waitForTimeout(4000);
    const rows = await page.$$eval('[data-testid="scan-row"]', (els) => els.map((e) => [e.dataset.overall, e.dataset.code]));
    assert.deepEqual(rows.sort(), [['invalid', 'revoked'], ['valid', '']]);
    const m = await page.evaluate(() => window.cellproofMetrics);
    assert.ok(m.frames > 2, 'the worker decoded frames');
    const csv = await exportCsv(page);
    assert.equal(csv.length, 3);
    console.log(`# figures: page load to first camera scan ${Math.round(m.firstScan)} ms (camera started at ${Math.round(m.cameraStarted)} ms), last frame decode ${m.lastFrameMs?.toFixed(1)} ms via ${m.via}, ${m.frames} frames`);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('keyboard wedge and paste: batch of codes, duplicates counted on their row, CSV export', async () => {
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    const valid = server.sample('valid');
    const others = ['suspended', 'superseded', 'ouranos-valid', 'ouranos-revoked'].map((n) => server.sample(n)).filter(Boolean);
    assert.ok(others.length >= 2, 'the demo has more samples');
    const input = page.getByTestId('manual-input');
    // A handheld scanner types the code and presses Enter.
    for (const code of [valid, server.sample('revoked'), valid]) {
      await input.fill(code);
      await input.press('Enter');
    }
    // Pasting several lines checks each.
    const pasted = [tamper(valid), ...others].join('\n');
    await input.focus();
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.setData('text/plain', text);
      document.getElementById('manual').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, pasted);
    const expected = 3 + others.length; // valid, revoked, tampered + others (valid once)
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="scan-row"]').length === n, expected);
    const csv = await exportCsv(page);
    const [head, ...rows] = csv;
    // The CLI's column set (docs/verdict-json.md).
    assert.deepEqual(head.slice(0, 5), ['line', 'scanned_at', 'seen', 'overall', 'code']);
    const col = (name) => head.indexOf(name);
    assert.equal(rows.length, expected);
    const byCode = Object.fromEntries(rows.map((r) => [r[col('code')] || 'none', r[col('overall')]]));
    assert.equal(byCode.revoked, 'invalid');
    assert.equal(byCode.signature_invalid, 'invalid');
    assert.equal(rows.filter((r) => r[col('input')] === valid).length, 1, 'no duplicate rows');
    assert.equal(rows.find((r) => r[col('input')] === valid)[col('seen')], '2', 'the repeat is counted');
    assert.ok(rows.every((r) => /^\d+$/.test(r[col('data_age_s')])), 'every row carries the data age');
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const log = JSON.parse(await readFile(await json.path(), 'utf8'));
    assert.equal(log.scans.length, expected);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('camera problems get guidance: permission denied, no camera', async () => {
  // Fake device but no auto-accepting UI and no permission granted: the request is denied.
  const denied = await launch(['--use-fake-device-for-media-stream']);
  // No fake device at all: a headless machine has no camera.
  const none = await launch();
  try {
    for (const [browser, problem, words] of [[denied, 'cam_denied', /permission was denied/], [none, 'cam_none', /No camera/]]) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await pageReady(page);
      await page.getByTestId('camera-toggle').click();
      const msg = page.getByTestId('camera-message');
      await msg.waitFor({ state: 'visible' });
      assert.equal(await msg.getAttribute('data-problem'), problem);
      assert.match(await msg.textContent(), words);
      await context.close();
    }
  } finally {
    await denied.close();
    await none.close();
  }
});

/** One 1280x720 luma frame holding every URL's code on a grid (a pallet of cells), plus the
 * box each code was drawn in. */
function palletFrame(urls, width = 1280, height = 720) {
  const y = new Uint8Array(width * height).fill(150);
  const cols = Math.ceil(Math.sqrt((urls.length * width) / height));
  const rows = Math.ceil(urls.length / cols);
  const cw = Math.floor(width / cols);
  const ch = Math.floor(height / rows);
  const boxes = urls.map((url, k) => {
    const m = qrModules(url);
    const scale = Math.max(2, Math.floor(Math.min(cw, ch) / (m.length + 8)));
    const side = (m.length + 8) * scale;
    const x0 = (k % cols) * cw + Math.floor((cw - side) / 2);
    const y0 = Math.floor(k / cols) * ch + Math.floor((ch - side) / 2);
    for (let r = 0; r < m.length + 8; r++) {
      for (let c = 0; c < m.length + 8; c++) {
        const dark = m[r - 4]?.[c - 4] === true;
        for (let dy = 0; dy < scale; dy++) {
          const row = (y0 + r * scale + dy) * width + x0 + c * scale;
          y.fill(dark ? 20 : 235, row, row + scale);
        }
      }
    }
    return { url, x0, y0, x1: x0 + side, y1: y0 + side };
  });
  return { luma: y, boxes };
}

test('pallet: every code in one camera frame fills the session list in one sweep; the worker reports each with its corners', async () => {
  const urls = ['valid', 'revoked', 'suspended', 'superseded', 'ouranos-valid', 'ouranos-revoked']
    .map((n) => server.sample(n)).filter(Boolean);
  assert.ok(urls.length >= 4, 'the demo has at least four samples');
  const { luma, boxes } = palletFrame(urls);
  const video = join(dir, 'pallet.y4m');
  await writeLumaY4m(video, luma);
  const browser = await launchWithCamera(video);
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    // The worker itself, on the same frame: every code, each with four corners inside the box
    // it was drawn in (2 px of slack for the symbol's outer edge).
    const reply = await page.evaluate(async ({ luma }) => {
      const rgba = new Uint8ClampedArray(1280 * 720 * 4);
      for (let i = 0; i < luma.length; i++) {
        rgba.fill(luma[i], 4 * i, 4 * i + 3);
        rgba[4 * i + 3] = 255;
      }
      const bitmap = await createImageBitmap(new ImageData(rgba, 1280, 720));
      const w = new Worker('/scan-worker.js', { type: 'module' });
      const r = await new Promise((resolve) => { w.onmessage = (ev) => resolve(ev.data); w.postMessage({ id: 1, bitmap }, [bitmap]); });
      w.terminate();
      return r;
    }, { luma: Array.from(luma) });
    assert.equal(reply.error, null);
    assert.equal(reply.codes.length, urls.length, `worker found ${reply.codes.length} of ${urls.length}`);
    assert.deepEqual([...reply.texts].sort(), [...urls].sort());
    for (const { text, corners } of reply.codes) {
      const box = boxes.find((b) => b.url === text);
      assert.equal(corners.length, 4);
      for (const [x, y] of corners) {
        assert.ok(x >= box.x0 - 2 && x <= box.x1 + 2 && y >= box.y0 - 2 && y <= box.y1 + 2,
          `corner (${x}, ${y}) outside the box of its code`);
      }
    }
    // The scanner: the same frame from the camera gives one row per code.
    await page.getByTestId('camera-toggle').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="scan-row"]').length >= n, urls.length, { timeout: 60_000 });
    await page.waitForTimeout(1500);
    const rows = await page.$$eval('[data-testid="scan-row"]', (els) => els.length);
    assert.equal(rows, urls.length, 'one row per code, none twice');
    console.log(`# figures: pallet frame 1280x720 with ${urls.length} codes: worker ${reply.ms.toFixed(1)} ms via ${reply.via}`);
    await context.close();
  } finally {
    await browser.close();
  }
});

test('two labels with the same credential in one camera frame: one row, flagged as a possible copied label', async () => {
  const valid = server.sample('valid');
  const other = server.sample('revoked');
  const { luma } = palletFrame([valid, other, valid]);
  const video = join(dir, 'copied.y4m');
  await writeLumaY4m(video, luma);
  const browser = await launchWithCamera(video);
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await page.getByTestId('camera-toggle').click();
    await page.waitForSelector('[data-testid="scan-row"] [data-hint="two_in_frame"]', { timeout: 60_000 });
    await page.waitForTimeout(1000);
    const rows = await page.$$eval('[data-testid="scan-row"]', (els) => els.length);
    assert.equal(rows, 2, 'one row per credential');
    const flagged = await page.$$eval('[data-testid="scan-row"]:has([data-hint="two_in_frame"])', (els) => els.length);
    assert.equal(flagged, 1, 'only the credential seen twice is flagged');
    await context.close();
  } finally {
    await browser.close();
  }
});
