// The camera: start and stop, torch, zoom and lens. web/scanner.js (and through it the decoder
// worker) is imported when the camera is first started, never on a consumer's first visit.

import { t } from './i18n.js';
import { state, metrics } from './state.js';
import { $, el } from './dom.js';
import { frameTexts } from './session.js';

export function updateCamButton() {
  $('cam-toggle').textContent = state.scanner?.active ? t('stop_camera') : t('start_camera');
}

export async function toggleCamera() {
  const msg = $('cam-msg');
  if (state.scanner?.active) {
    state.scanner.stop();
    document.querySelector('.camera').classList.remove('on');
    updateCamButton();
    return;
  }
  let problem = null;
  try {
    const { Scanner, cameraProblem } = await import('./scanner.js');
    problem = cameraProblem;
    state.scanner ??= new Scanner($('video'), {
      // Every code of the frame, one entry per symbol (scanner.js: `result.codes`), so the same
      // credential on two labels in view counts twice.
      onTexts: (texts, r) => frameTexts(Array.isArray(r?.codes) ? r.codes.map((c) => c.text) : texts),
      onFrame: (r) => { metrics.lastFrameMs = r.ms; metrics.frames = (metrics.frames ?? 0) + 1; metrics.via = r.via; },
    });
    msg.hidden = true;
    await state.scanner.start();
    document.querySelector('.camera').classList.add('on');
    metrics.cameraStarted = performance.now();
    await cameraControls();
  } catch (e) {
    const why = problem ? problem(e) : 'cam_other';
    msg.textContent = t(why);
    msg.dataset.problem = why;
    msg.hidden = false;
  }
  updateCamButton();
}

async function cameraControls() {
  const s = state.scanner;
  const caps = s.capabilities();
  const torch = $('torch');
  torch.hidden = !caps.torch;
  torch.onclick = async () => {
    const on = torch.getAttribute('aria-pressed') !== 'true';
    await s.setTorch(on).catch(() => {});
    torch.setAttribute('aria-pressed', String(on));
  };
  const zoom = $('zoom');
  $('zoom-wrap').hidden = !caps.zoom;
  if (caps.zoom) {
    Object.assign(zoom, { min: caps.zoom.min, max: caps.zoom.max, step: caps.zoom.step || 0.1, value: s.settings().zoom ?? caps.zoom.min });
    zoom.oninput = () => s.setZoom(Number(zoom.value)).catch(() => {});
  }
  const lenses = await s.lenses().catch(() => []);
  $('lens-wrap').hidden = lenses.length < 2;
  const sel = $('lens');
  sel.replaceChildren(...lenses.map((d, i) => el('option', { value: d.deviceId, text: d.label || `${t('lens')} ${i + 1}` })));
  sel.value = s.settings().deviceId ?? '';
  sel.onchange = () => s.useLens(sel.value).then(cameraControls).catch(() => {});
}
