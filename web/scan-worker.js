// Decodes camera frames off the main thread with the same engine as the CLI
// (docs/qr-decoder.md, "Choosing the engine"): zxing-cpp 3.1 first (npm zxing-wasm's
// reader-only build, the same C++ version the CLI links natively), and the Rust QR decoder the
// CLI runs as its second pass (pkg/cellproof_decode.js, the rxing cascade with Effort::Fast)
// only on frames where zxing-cpp located a symbol it could not decode (the rule of
// Effort::Fast natively: a frame without any code costs zxing-cpp's time only). Every code in
// the frame is reported, with its
// corners (a pallet fills the session list in one sweep). Reply: { id, codes: [{ text,
// corners: [[x, y] x4] }], texts, error, via, fatal, ms }, corners in frame pixels, top-left,
// top-right, bottom-right, bottom-left of the symbol; via names the last decoder that ran,
// 'zxing-wasm' or 'wasm' (ours).
// This worker is the only place either decoder is loaded, and it is started only by "Start
// camera": a consumer who opens a battery URL never downloads them (docs/web.md, "Two
// modules"). Both come from this origin (web/pkg/, written by `cargo xtask wasm`), never a CDN,
// and the service worker keeps them for offline scanning once fetched.
import init, { decodeRgba, mergeCodes, trapForTests } from '/pkg/cellproof_decode.js';

const ready = init();

// zxing-wasm's loader would fetch its .wasm from a CDN by default: point it at our copy.
// Loaded with a dynamic import so that a missing or broken zxing-wasm (offline before it was
// ever cached) leaves our decoder working alone instead of failing the worker.
const ZXING_DIR = '/pkg/zxing-wasm/';
let zxing = import(`${ZXING_DIR}es/reader/index.js`).then(async (m) => {
  await m.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? `${ZXING_DIR}reader/${path}` : prefix + path) },
    fireImmediately: true,
  });
  return m;
});
zxing.catch(() => {});
// Camera frames, as natively with Effort::Fast (crates/qr/src/zxing.rs): the QR family,
// zxing-cpp's try-harder and downscaling, no inverted pass (the next frame is another chance),
// the symbol's text as encoded (not zxing-cpp's "human readable" rewrite).
const ZXING_OPTIONS = {
  formats: ['QRCode'], tryHarder: true, tryDownscale: true, tryRotate: false, tryInvert: false,
  textMode: 'Plain', maxNumberOfSymbols: 255, returnErrors: true,
};

let canvas = null;
let ctx = null;
let dead = false;

/** zxing-cpp's codes in the frame, and whether our decoder should look too: it located a
 * symbol it could not decode (returnErrors), or zxing-wasm is unavailable. */
async function readZxing(img) {
  let m;
  try {
    m = await zxing;
  } catch {
    return { codes: [], unread: true };
  }
  try {
    const found = await m.readBarcodes(img, ZXING_OPTIONS);
    // One code per symbol by the native merge rule (cellproof_qr::merge_codes: the same text
    // at the same place is one code, at two places two labels, the page's two_in_frame hint).
    const codes = mergeCodes(found.filter((b) => b.isValid && b.text).map((b) => {
      const p = b.position;
      return {
        text: b.text,
        corners: [p.topLeft, p.topRight, p.bottomRight, p.bottomLeft].map((q) => [q.x, q.y]),
      };
    }));
    if (!codes) throw new Error('zxing-wasm returned codes our binding does not read');
    return { codes, unread: found.some((b) => !b.isValid) };
  } catch (e) {
    // An abort inside zxing-wasm leaves its instance unusable: stop calling it in this worker;
    // our decoder keeps scanning.
    if (e instanceof WebAssembly.RuntimeError) zxing = Promise.reject(e);
    zxing.catch(() => {});
    return { codes: [], unread: true };
  }
}

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
    const { width, height } = bitmap;
    if (!canvas || canvas.width !== width || canvas.height !== height) {
      canvas = new OffscreenCanvas(width, height);
      ctx = canvas.getContext('2d', { willReadFrequently: true });
    }
    ctx.drawImage(bitmap, 0, 0);
    const img = ctx.getImageData(0, 0, width, height);
    const zx = await readZxing(img);
    codes = zx.codes;
    if (codes.length > 0 || !zx.unread) {
      via = 'zxing-wasm';
    } else {
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
