// The in-page camera scanner: rear camera at high resolution with continuous focus, torch,
// lens and zoom where the device offers them (the choice is remembered), frames handed to a
// Web Worker one at a time so the main thread stays responsive.

const LENS_KEY = 'cellproof.lens';
const ZOOM_KEY = 'cellproof.zoom';

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
    this.worker ??= new Worker('/scan-worker.js', { type: 'module' });
    this.worker.onmessage = (ev) => this.onResult(ev.data);
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

  pump() {
    if (!this.running) return;
    const next = () => this.pump();
    if (!this.busy && this.video.readyState >= 2 && this.video.videoWidth > 0) {
      this.busy = true;
      createImageBitmap(this.video)
        .then((bitmap) => this.worker.postMessage({ id: ++this.seq, bitmap }, [bitmap]))
        .catch(() => { this.busy = false; });
    }
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(next);
    else setTimeout(next, 50);
  }

  onResult(r) {
    this.busy = false;
    this.onFrame(r);
    if (r.texts?.length) this.onTexts(r.texts, r);
  }
}
