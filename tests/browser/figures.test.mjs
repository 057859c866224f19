// Figures for docs/web.md, measured inside headless Chromium with performance.now(): median
// time to verify one credential and to decode a 640x480 frame (Effort::Fast) with and without
// a QR code, plus page load to ready. Printed as `# figures:` lines; the assertions only guard
// against gross regressions (an order of magnitude), never against a slow machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, pageReady } from './support/env.mjs';
import { qrModules, lumaFrame } from './support/codes.mjs';

const env = useServerAndBrowser();

test('figures: verify and decode medians in the browser, page load', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const valid = env.server.sample('valid');
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const load = await page.evaluate(() => {
    const m = window.cellproofMetrics;
    return { wasmReady: m.wasmReady, ready: m.ready, nav: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd };
  });
  const withCode = Array.from(lumaFrame(qrModules(valid), 640, 480, 4));
  const withCode720 = Array.from(lumaFrame(qrModules(valid), 1280, 720, 4));
  // A frame with no code: shading plus xorshift32 texture. The same frame is built natively by
  // `cargo run --release -p cellproof-wasm-decode --example frame_timing` for the native comparison.
  let x = 2463534242;
  const noCode = Array.from({ length: 640 * 480 }, (_, i) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return 60 + Math.floor((120 * (i % 640)) / 640) + Math.floor((60 * x) / 4294967296);
  });
  const r = await page.evaluate(async ({ valid, withCode, noCode, withCode720 }) => {
    const wasm = await import('/pkg/cellproof_wasm.js');
    await wasm.default();
    // The decoder is its own module (only the scanner's worker loads it in the page).
    const decoder = await import('/pkg/cellproof_decode.js');
    await decoder.default();
    const v = new wasm.Verifier();
    const roots = await (await fetch('/v1/roots')).json();
    for (const x of roots.roots) v.pinRoot(x.eco, JSON.stringify(x.root));
    v.loadBundle(await (await fetch('/v1/bundle')).text());
    const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
    const time = (n, f) => { const out = []; for (let i = 0; i < n; i++) { const t0 = performance.now(); f(); out.push(performance.now() - t0); } return median(out); };
    const now = Date.now() / 1000;
    const overall = v.verify(valid, now).overall;
    // performance.now() is coarsened to 0.1 ms without cross-origin isolation: time blocks of
    // 50 verifications and take the median block mean.
    const verifyMs = time(20, () => { for (let i = 0; i < 50; i++) v.verify(valid, now); }) / 50;
    const a = Uint8Array.from(withCode);
    const b = Uint8Array.from(noCode);
    const found = decoder.decodeLuma(640, 480, a, false).texts.length;
    const decodeWith = time(40, () => decoder.decodeLuma(640, 480, a, false));
    const decodeWithout = time(40, () => decoder.decodeLuma(640, 480, b, false));
    // 1280x720: the same code at 4 px/module, and the code-less texture tiled to the size.
    const c = Uint8Array.from(withCode720);
    const d = new Uint8Array(1280 * 720).map((_, i) => b[(Math.floor(i / 1280) % 480) * 640 + (i % 1280) % 640]);
    const found720 = decoder.decodeLuma(1280, 720, c, false).codes.length;
    const decode720With = time(20, () => decoder.decodeLuma(1280, 720, c, false));
    const decode720Without = time(20, () => decoder.decodeLuma(1280, 720, d, false));
    return { overall, found, verifyMs, decodeWith, decodeWithout, found720, decode720With, decode720Without };
  }, { valid, withCode, noCode, withCode720 });
  assert.equal(r.overall, 'valid');
  assert.equal(r.found, 1);
  assert.equal(r.found720, 1);
  console.log(`# figures: verify ${r.verifyMs.toFixed(3)} ms; decode 640x480 fast ${r.decodeWith.toFixed(2)} ms with code, ${r.decodeWithout.toFixed(2)} ms without`);
  console.log(`# figures: decode 1280x720 fast ${r.decode720With.toFixed(2)} ms with code, ${r.decode720Without.toFixed(2)} ms without`);
  console.log(`# figures: page load: wasm ready ${Math.round(load.wasmReady)} ms, page ready (synced, verified) ${Math.round(load.ready)} ms after navigation start`);
  assert.ok(r.verifyMs < 20 && r.decodeWith < 500);
  await context.close();
});
