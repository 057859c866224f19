// Decodes camera frames off the main thread: the browser's BarcodeDetector as a fast path
// where it exists, and always the same Rust QR decoder the CLI uses, compiled to wasm, with
// Effort::Fast on the full frame (the decoder's own cascade retries at a smaller scale).
// Every code in the frame is reported, with its corners (a pallet fills the session list in
// one sweep). Reply: { id, codes: [{ text, corners: [[x, y] x4] }], texts, error, via, fatal,
// ms }, corners in frame pixels, top-left, top-right, bottom-right, bottom-left of the symbol.
// This worker is the only place the decoder module (pkg/cellproof_decode.js, rxing: more than
// half of the page's wasm) is loaded, and it is started only by "Start camera": a consumer who
// opens a battery URL never downloads it (docs/web.md, "Two modules").
import init, { decodeRgba, trapForTests } from '/pkg/cellproof_decode.js';

const ready = init();
let detector = null;
if ('BarcodeDetector' in self) {
  self.BarcodeDetector.getSupportedFormats()
    .then((f) => { if (f.includes('qr_code')) detector = new self.BarcodeDetector({ formats: ['qr_code'] }); })
    .catch(() => {});
}
let canvas = null;
let ctx = null;
let dead = false;

self.onmessage = async (ev) => {
  const { id, bitmap, trap } = ev.data;
  const t0 = performance.now();
  let texts = [];
  let codes = [];
  let error = null;
  let via = 'wasm';
  try {
    if (dead) return;
    try {
      await ready;
    } catch {
      // The module did not load (offline before it was ever cached): report, keep the worker.
      error = 'decoder_unavailable';
      return;
    }
    // Test hook (tests/browser/recovery.test.mjs): the next frame traps inside the wasm the
    // way a panic in rxing does, so the test exercises the real recovery path below.
    if (trap) trapForTests();
    if (detector) {
      try {
        const found = await detector.detect(bitmap);
        codes = found.filter((b) => b.rawValue).map((b) => ({
          text: b.rawValue,
          corners: (b.cornerPoints ?? []).map((p) => [p.x, p.y]),
        }));
        via = 'barcode-detector';
      } catch { codes = []; }
    }
    if (codes.length === 0) {
      via = 'wasm';
      const { width, height } = bitmap;
      if (!canvas || canvas.width !== width || canvas.height !== height) {
        canvas = new OffscreenCanvas(width, height);
        ctx = canvas.getContext('2d', { willReadFrequently: true });
      }
      ctx.drawImage(bitmap, 0, 0);
      const img = ctx.getImageData(0, 0, width, height);
      const r = decodeRgba(width, height, img.data, false);
      if (!r) throw new WebAssembly.RuntimeError('decoder returned nothing');
      codes = r.codes ?? [];
      error = r.error;
    }
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      // A trap (a panic: rxing has had several on crafted images) leaves the instance's memory
      // in an unknown state. Never call it again: tell the page, which replaces this worker.
      dead = true;
      error = 'decoder_trapped';
    } else {
      error = 'decode_failed';
    }
  } finally {
    bitmap?.close?.();
    texts = (codes ?? []).map((c) => c.text);
    self.postMessage({ id, codes, texts, error, via, fatal: dead, ms: performance.now() - t0 });
    if (dead) self.close();
  }
};
