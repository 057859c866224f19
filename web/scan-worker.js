// Decodes camera frames off the main thread: the browser's BarcodeDetector as a fast path
// where it exists, and always the same Rust QR decoder the CLI uses, compiled to wasm, with
// Effort::Fast on the full frame (the decoder's own cascade retries at a smaller scale).
import init, { decodeRgba } from '/pkg/cellproof_wasm.js';

const ready = init();
let detector = null;
if ('BarcodeDetector' in self) {
  self.BarcodeDetector.getSupportedFormats()
    .then((f) => { if (f.includes('qr_code')) detector = new self.BarcodeDetector({ formats: ['qr_code'] }); })
    .catch(() => {});
}
let canvas = null;
let ctx = null;

self.onmessage = async (ev) => {
  const { id, bitmap } = ev.data;
  const t0 = performance.now();
  let texts = [];
  let error = null;
  let via = 'wasm';
  try {
    await ready;
    if (detector) {
      try {
        const found = await detector.detect(bitmap);
        texts = found.map((b) => b.rawValue).filter(Boolean);
        via = 'barcode-detector';
      } catch { texts = []; }
    }
    if (texts.length === 0) {
      via = 'wasm';
      const { width, height } = bitmap;
      if (!canvas || canvas.width !== width || canvas.height !== height) {
        canvas = new OffscreenCanvas(width, height);
        ctx = canvas.getContext('2d', { willReadFrequently: true });
      }
      ctx.drawImage(bitmap, 0, 0);
      const img = ctx.getImageData(0, 0, width, height);
      const r = decodeRgba(width, height, img.data, false);
      texts = r.texts;
      error = r.error;
    }
  } catch (e) {
    error = 'decode_failed';
  } finally {
    bitmap.close?.();
  }
  self.postMessage({ id, texts, error, via, ms: performance.now() - t0 });
};
