// Decoder failures (issue 7): rxing has panicked on crafted images before, and a panic traps
// the wasm instance in the scanner's worker. The page must replace the worker and go on
// scanning. The trap is the real one (a Rust abort inside the decoder module, reached through
// the worker's test message), so the recovery path tested is the one a crafted label takes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchWithCamera, pageReady } from './support/env.mjs';
import { writeY4m } from './support/codes.mjs';

let server;
let dir;

before(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'cellproof-trap-'));
});
after(async () => {
  await server?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const rows = (page) => page.$$eval('[data-testid="scan-row"]', (els) => els.length);
const frames = (page) => page.evaluate(() => window.cellproofMetrics.frames ?? 0);

test('a trapped decoder worker is replaced and scanning goes on', async () => {
  const video = join(dir, 'valid.y4m');
  await writeY4m(video, [server.sample('valid')], { framesEach: 10 });
  const browser = await launchWithCamera(video);
  try {
    const context = await browser.newContext({ permissions: ['camera'] });
    const page = await context.newPage();
    const workers = [];
    page.on('worker', (w) => {
      const entry = { url: w.url(), closed: false };
      w.on('close', () => { entry.closed = true; });
      workers.push(entry);
    });
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await page.getByTestId('camera-toggle').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"]').length >= 1, null, { timeout: 60_000 });
    assert.equal(workers.length, 1, 'one decoder worker while all is well');

    // The next frame traps inside the decoder wasm.
    await page.evaluate(() => { window.cellproofTrapNextFrame = true; });
    await page.waitForFunction(() => window.cellproofTrapNextFrame === false, null, { timeout: 10_000 });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(workers.length >= 2 && workers[0].closed)) await page.waitForTimeout(50);
    assert.ok(workers[0].closed, 'the trapped worker was terminated');
    assert.equal(workers.length, 2, 'exactly one replacement worker');
    assert.ok(!workers[1].closed, 'the replacement is alive');

    // Scanning goes on: frames are decoded again, and the code in view lands in the emptied
    // session list once more.
    const before = await frames(page);
    await page.waitForFunction((n) => (window.cellproofMetrics.frames ?? 0) > n + 3, before, { timeout: 20_000 });
    await page.click('#clear');
    assert.equal(await rows(page), 0);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"]').length >= 1, null, { timeout: 20_000 });
    assert.equal(await page.getAttribute('[data-testid="scan-row"]', 'data-overall'), 'valid');
    assert.equal(workers.length, 2, 'no further replacement while the decoder works');
    await context.close();
  } finally {
    await browser.close();
  }
});
