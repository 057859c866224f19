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

// The scanner as shipped (docs/qr-decoder.md): the worker runs zxing-wasm first and our decoder
// on frames where it found nothing. Times the worker's own `ms` (canvas read-back plus both
// decoders) per 640x480 and 1280x720 frame, with a code and without (texture: both decoders
// run), beside zxing-wasm alone on the same frames in the page; and the decoder bytes the
// worker fetched (encoded, as sent by the server).
test('figures: scanner worker per frame (zxing-wasm, then ours), zxing-wasm alone, decoder bytes', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const fetched = [];
  context.on('requestfinished', async (req) => {
    const url = new URL(req.url()).pathname;
    // The service worker's copies of the same requests report 0 or -1: count each file once.
    const bytes = (await req.sizes()).responseBodySize;
    if (/\/pkg\/(cellproof_decode|zxing-wasm\/)/.test(url) && bytes > 0 && !fetched.some((f) => f.url === url)) {
      fetched.push({ url, bytes });
    }
  });
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const valid = env.server.sample('valid');
  let x = 2463534242;
  const texture = (w, h) => Array.from({ length: w * h }, (_, i) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return 60 + Math.floor((120 * (i % w)) / w) + Math.floor((60 * x) / 4294967296);
  });
  const frames = [
    { name: '640x480 with code', w: 640, h: 480, luma: Array.from(lumaFrame(qrModules(valid), 640, 480, 4)), want: 1 },
    { name: '640x480 without code', w: 640, h: 480, luma: texture(640, 480), want: 0 },
    { name: '1280x720 with code', w: 1280, h: 720, luma: Array.from(lumaFrame(qrModules(valid), 1280, 720, 4)), want: 1 },
    { name: '1280x720 without code', w: 1280, h: 720, luma: texture(1280, 720), want: 0 },
  ];
  const rows = await page.evaluate(async (frames) => {
    const N = 15;
    const stats = (ms) => {
      const s = [...ms].sort((a, b) => a - b);
      return { median: s[Math.floor(s.length / 2)], mean: s.reduce((a, b) => a + b, 0) / s.length, max: s[s.length - 1] };
    };
    const image = ({ w, h, luma }) => {
      const rgba = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < luma.length; i++) { rgba.fill(luma[i], 4 * i, 4 * i + 3); rgba[4 * i + 3] = 255; }
      return new ImageData(rgba, w, h);
    };
    const worker = new Worker('/scan-worker.js', { type: 'module' });
    let id = 0;
    const send = (bitmap) => new Promise((resolve) => {
      worker.onmessage = (ev) => resolve(ev.data);
      worker.postMessage({ id: ++id, bitmap }, [bitmap]);
    });
    const zx = await import('/pkg/zxing-wasm/es/reader/index.js');
    await zx.prepareZXingModule({
      overrides: { locateFile: (p, prefix) => (p.endsWith('.wasm') ? `/pkg/zxing-wasm/reader/${p}` : prefix + p) },
      fireImmediately: true,
    });
    const options = { formats: ['QRCode'], tryHarder: true, tryDownscale: true, tryRotate: false, tryInvert: false, textMode: 'Plain' };
    const ours = await import('/pkg/cellproof_decode.js');
    await ours.default();
    const out = [];
    // Warm-up (module compilation) is not counted.
    await send(await createImageBitmap(image(frames[0])));
    for (const f of frames) {
      const img = image(f);
      const shipped = [];
      let last;
      for (let i = 0; i < N; i++) {
        last = await send(await createImageBitmap(img));
        shipped.push(last.ms);
      }
      const alone = [];
      let zxFound = 0;
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        zxFound = (await zx.readBarcodes(img, options)).length;
        alone.push(performance.now() - t0);
      }
      // What the worker pays before any decoder: the frame drawn and read back.
      const readback = [];
      const canvas = new OffscreenCanvas(f.w, f.h);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      for (let i = 0; i < N; i++) {
        const bitmap = await createImageBitmap(img);
        const t0 = performance.now();
        ctx.drawImage(bitmap, 0, 0);
        ctx.getImageData(0, 0, f.w, f.h);
        readback.push(performance.now() - t0);
        bitmap.close();
      }
      const rxing = [];
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        ours.decodeRgba(f.w, f.h, img.data, false);
        rxing.push(performance.now() - t0);
      }
      out.push({ name: f.name, want: f.want, found: last.codes.length, via: last.via, error: last.error, shipped: stats(shipped), zxing: stats(alone), rxing: stats(rxing), readback: stats(readback), zxFound });
    }
    worker.terminate();
    return out;
  }, frames);
  for (const r of rows) {
    console.log(`# figures: scanner worker ${r.name}: median ${r.shipped.median.toFixed(1)} ms, mean ${r.shipped.mean.toFixed(1)}, max ${r.shipped.max.toFixed(1)} (via ${r.via}, ${r.found} found); zxing-wasm alone median ${r.zxing.median.toFixed(1)} ms, mean ${r.zxing.mean.toFixed(1)}, max ${r.zxing.max.toFixed(1)}; ours alone (decodeRgba, Fast) median ${r.rxing.median.toFixed(1)} ms, mean ${r.rxing.mean.toFixed(1)}, max ${r.rxing.max.toFixed(1)}; canvas read-back median ${r.readback.median.toFixed(1)} ms`);
    assert.equal(r.error, null, r.name);
    assert.equal(r.found, r.want, r.name);
  }
  const bytes = fetched.reduce((a, f) => a + f.bytes, 0);
  console.log(`# figures: decoder assets fetched when the scanner starts: ${bytes} B (${fetched.map((f) => `${f.url} ${f.bytes}`).join(', ')})`);
  assert.ok(fetched.some((f) => f.url.endsWith('zxing_reader.wasm')), 'the worker loads zxing-wasm from our origin');
  assert.equal(rows[0].via, 'zxing-wasm');
  await context.close();
});
