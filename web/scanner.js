// The in-page camera scanner: rear camera at high resolution with continuous focus, torch,
// lens and zoom where the device offers them (the choice is remembered), frames handed to a
// Web Worker one at a time so the main thread stays responsive. The worker holds the decoder
// wasm; when it traps (a panic in rxing on a crafted image), dies or hangs, the scanner
// replaces it and goes on scanning (docs/web.md, "Decoder failures").
//
// Interface to the page: `new Scanner(video, { onTexts, onFrame })`. Every decoded frame calls
// `onFrame(result)`; a frame with at least one code also calls `onTexts(texts, result)`.
// `result` = { id, codes: [{ text, corners: [[x, y], [x, y], [x, y], [x, y]] }], texts, error,
// via: 'zxing-wasm' | 'wasm', ms }: every code in the frame (one symbol once; the same text
// on two labels twice), corners in video-frame pixels (video.videoWidth x videoHeight),
// top-left, top-right, bottom-right, bottom-left of the symbol. via names the decoder that
// ran last: zxing-cpp's WebAssembly build first, ours where it located a code it could not read
// (web/scan-worker.js).

const LENS_KEY = 'cellproof.lens';
const ZOOM_KEY = 'cellproof.zoom';
/** A frame taking longer than this is a hung decoder: the worker is replaced. Fast effort on a
 * 1080p frame takes well under a second even on a slow phone. */
const FRAME_TIMEOUT_MS = 8000;
/** Pause before the n-th consecutive replacement (a trapping label stays in view): doubles
 * from 100 ms up to 3 s, back to none after a frame decodes normally. */
const backoffMs = (n) => (n <= 1 ? 0 : Math.min(3000, 100 * 2 ** (n - 2)));

/** Maps a getUserMedia failure to a translation key (page text, never the raw error). */
export function cameraProblem(err) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) return 'cam_insecure';
  switch (err?.name) {
    case 'NotAllowedError': case 'SecurityError': case 'PermissionDeniedError': return 'cam_denied';
    case 'NotFoundError': case 'DevicesNotFoundError': case 'OverconstrainedError': return 'cam_none';
    case 'NotReadableError': case 'TrackStartError': case 'AbortError': return 'cam_busy';
    default: return 'cam_other';
  }
}

export class Scanner {
  constructor(video, { onTexts, onFrame }) {
    this.video = video;
    this.onTexts = onTexts;
    this.onFrame = onFrame ?? (() => {});
    this.stream = null;
    this.track = null;
    this.worker = null;
    this.busy = false;
    this.running = false;
    this.seq = 0;
    this.watchdog = null;
    this.failures = 0; // consecutive worker replacements
    this.pausedUntil = 0;
    /** Workers replaced so far, with why ('trap' | 'error' | 'timeout'): a test hook. */
    this.replaced = [];
  }

  get active() { return this.running; }

  async start() {
    if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
      const e = new Error('insecure'); e.name = 'SecurityError'; throw Object.assign(e, { insecure: true });
    }
    const lens = localStorage.getItem(LENS_KEY);
    const video = {
      width: { ideal: 1920 }, height: { ideal: 1080 },
      advanced: [{ focusMode: 'continuous' }],
    };
    if (lens) video.deviceId = { exact: lens }; else video.facingMode = { ideal: 'environment' };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (e) {
      // A remembered lens that is gone (another phone, unplugged webcam): forget it, retry once.
      if (lens && (e.name === 'OverconstrainedError' || e.name === 'NotFoundError')) {
        localStorage.removeItem(LENS_KEY);
        return this.start();
      }
      throw e;
    }
    this.track = this.stream.getVideoTracks()[0];
    this.video.srcObject = this.stream;
    await this.video.play();
    const zoom = Number(localStorage.getItem(ZOOM_KEY));
    if (zoom && this.capabilities().zoom) await this.setZoom(zoom).catch(() => {});
    this.worker ??= this.spawn();
    this.running = true;
    this.pump();
  }

  stop() {
    this.running = false;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.track = null;
    this.video.srcObject = null;
  }

  capabilities() {
    return this.track?.getCapabilities?.() ?? {};
  }

  settings() {
    return this.track?.getSettings?.() ?? {};
  }

  async lenses() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === 'videoinput');
  }

  async useLens(deviceId) {
    localStorage.setItem(LENS_KEY, deviceId);
    this.stop();
    await this.start();
  }

  async setTorch(on) {
    await this.track.applyConstraints({ advanced: [{ torch: on }] });
  }

  async setZoom(z) {
    await this.track.applyConstraints({ advanced: [{ zoom: z }] });
    localStorage.setItem(ZOOM_KEY, String(z));
  }

  /** A decoder worker whose messages and failures are tied to itself (a late message from a
   * replaced worker is ignored). */
  spawn() {
    const w = new Worker('/scan-worker.js', { type: 'module' });
    w.onmessage = (ev) => { if (w === this.worker) this.onResult(ev.data); };
    // An uncaught error or a failed module load: the worker is unusable.
    w.onerror = (ev) => { ev.preventDefault?.(); if (w === this.worker) this.replace('error'); };
    return w;
  }

  /** Drops the current worker (terminated, its frame forgotten) and starts a fresh one,
   * after a pause that grows while replacements follow each other. */
  replace(why) {
    clearTimeout(this.watchdog);
    this.worker?.terminate();
    this.replaced.push(why);
    this.failures += 1;
    this.pausedUntil = performance.now() + backoffMs(this.failures);
    this.worker = this.spawn();
    this.busy = false;
  }

  pump() {
    if (!this.running) return;
    const next = () => this.pump();
    if (!this.busy && performance.now() >= this.pausedUntil
        && this.video.readyState >= 2 && this.video.videoWidth > 0) {
      this.busy = true;
      const worker = this.worker;
      // Test hook (tests/browser/recovery.test.mjs): the next frame makes the decoder trap.
      const trap = window.cellproofTrapNextFrame === true;
      if (trap) window.cellproofTrapNextFrame = false;
      createImageBitmap(this.video)
        .then((bitmap) => {
          if (worker !== this.worker) { bitmap.close(); this.busy = false; return; }
          worker.postMessage({ id: ++this.seq, bitmap, trap }, [bitmap]);
          clearTimeout(this.watchdog);
          this.watchdog = setTimeout(() => { if (worker === this.worker) this.replace('timeout'); }, FRAME_TIMEOUT_MS);
        })
        .catch(() => { this.busy = false; });
    }
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(next);
    else setTimeout(next, 50);
  }

  onResult(r) {
    clearTimeout(this.watchdog);
    if (r.fatal) {
      this.replace('trap');
      return;
    }
    this.failures = 0;
    this.busy = false;
    this.onFrame(r);
    if (r.texts?.length) this.onTexts(r.texts, r);
  }
}
