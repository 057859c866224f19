// The Cellproof page: consumer (QR URL opens the page), dealer (continuous scanning into a
// session list) and inspector (offline with synced, wasm-verified trust data). All checks run in
// the wasm binding of the Rust core; the page only moves data and renders verdicts. The URL
// fragment, which carries the credential, is never sent anywhere (SPEC.md section 2).
//
// This module is the start-up and the wiring; the concerns are modules of their own
// (docs/web.md, "Modules"): state.js (the state and its pure transitions), format.js (pure
// wording and parsing), dom.js, sync.js, verify.js, verdict-view.js and session.js are what the
// first verdict needs; passport-panel.js, roots.js, export.js, pack.js and camera.js (which
// loads scanner.js) come after it or on first use, inspector.js on entering inspector mode.

import init, * as wasm from './pkg/cellproof_wasm.js';
import * as store from './store.js';
import { t, detectLang, setLang, loadLang, applyStatic, lang, tc } from './i18n.js';
import { state, metrics, events, nowSecs, mergeSession } from './state.js';
import { stamp, fmtAge } from './format.js';
import { $, el, download } from './dom.js';
import { sync, fetchSyncData, buildVerifier } from './sync.js';
import { verifyInput, loadPassport } from './verify.js';
import { showVerdict, verdictAge, loadPanel } from './verdict-view.js';
import { restoreSession, scanned, renderSession } from './session.js';

// Loaded after the first verdict or on first use: a consumer's verdict needs none of them.
const roots = () => import('./roots.js');
const exports = () => import('./export.js');
const pack = () => import('./pack.js');
const camera = () => import('./camera.js');
const renderRoots = () => roots().then((m) => m.renderRoots()).catch(() => {});

async function main() {
  const l = detectLang();
  await loadLang(l).catch(() => {});
  setLang(l);
  $('lang').value = lang();
  applyStatic();
  bindUi();
  // A first visit must sync before it can verify: its requests start now, while the wasm loads
  // and compiles, instead of a round trip after it (docs/web.md, "Weight").
  const early = navigator.onLine
    ? store.get('trust').catch(() => null)
      .then((saved) => (saved?.roots && saved?.syncedAt ? null : fetchSyncData()))
      .catch(() => null)
    : null;
  // The session log is read beside the wasm's start-up and shown after the first verdict:
  // a consumer's verdict does not wait for a dealer's day of scans.
  const restoring = restoreSession().catch(() => []);
  await init();
  metrics.wasmReady = performance.now();
  await restore();
  renderNet();
  renderSync();
  const needSync = !state.roots || !state.syncedAt;
  if (navigator.onLine && needSync) {
    await sync(await early).catch(() => {});
  }
  const link = pageLabel();
  if (link) {
    showVerdict(link, verifyInput(link));
    // The passport (and the panel's module) comes after the label's verdict is on screen, never
    // before it: the first verdict's time budget (docs/web.md, "Weight") does not wait for it.
    loadPassport(link).catch(() => {});
  }
  if (navigator.onLine && !needSync && Date.now() - state.syncedAt > 10 * 60 * 1000) {
    // Refresh old data in the background, then re-check what is on screen.
    sync().then(recheck).catch(() => {});
  }
  // Scans made meanwhile (a keyboard wedge is fast) stay, on top of the restored log.
  state.session = mergeSession(state.session, await restoring);
  renderSession();
  // After the verdict, but before the page says it is ready: a roots-changed warning is on
  // screen on every load (docs/web.md, "Flows").
  await renderRoots();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  }
  if (await store.get('inspectorMode').catch(() => null)) await enterInspector().catch(() => {});
  metrics.ready = performance.now();
  document.body.dataset.ready = '1';
  // What a scan's verdict may need next, fetched once the page is idle: the passport panel.
  if (!link) loadPanel().catch(() => {});
}

/**
 * The page's own URL when the core reads a label in it (SPEC.md 2.1: the Cellproof label, or
 * any GS1 Digital Link, with or without a credential in its fragment), else null. A phone's
 * stock camera opens a plain Digital Link on the registry, which serves this page for it: that
 * label gets its verdict too (unverifiable `no_embedded_credential`), never an empty page. The
 * core's `label` decides, not a Digital Link pattern here; this look does not count as a
 * verification (`metrics.verifications`: the verdict shown is verifyInput's).
 */
function pageLabel() {
  const v = state.verifier.verify(location.href, nowSecs());
  // A URL with a fragment that the core cannot read as a label (say, a trailing slash after
  // the serial) still gets the core's refusal on screen, never an empty page.
  const refused = location.hash.length > 1 && location.pathname !== '/';
  return v?.label || refused ? location.href : null;
}

/** Loads the pinned roots and the stored lists into a fresh verifier (restores the clock floor). */
async function restore() {
  const [saved, warning, pack] = await Promise.all(['trust', 'rootsWarning', 'pack'].map((k) => store.get(k).catch(() => null)));
  state.verifier = buildVerifier(saved?.roots ?? [], saved);
  state.roots = saved?.roots ?? null;
  state.syncedAt = saved?.syncedAt ?? null;
  state.rootsWarning = warning ?? null;
  state.pack = pack ?? null;
}

/** The verdict on screen verified again (after a sync or a pack brought other lists). */
function recheck() {
  const c = state.current;
  if (c) showVerdict(c.input, verifyInput(c.input), c.scan);
}

function renderSync() {
  const when = state.syncedAt ? new Date(state.syncedAt).toLocaleString(lang()) : t('never');
  $('sync-info').textContent = `${t('last_sync', { when })}. ${verdictAge(null).text}`;
}

function renderNet() {
  $('net').textContent = navigator.onLine ? t('online') : t('offline');
}

// A sync or a pack stored other lists; a passport changed a session row.
events.addEventListener('synced', () => {
  renderSync();
  renderRoots();
  state.inspector?.refresh();
});
events.addEventListener('verdict-stale', recheck);
events.addEventListener('session', renderSession);

// ---------- inspector mode (web/inspector.js: loaded on entry only) ----------

/** Loads inspector mode (a dynamic import: a consumer's first visit never fetches it). */
async function enterInspector() {
  state.inspector ??= await import('./inspector.js');
  await state.inspector.enter({
    state, store, t, tc, el, lang, fmtAge, nowSecs, download, stamp, onLeave: leftInspector,
  });
  $('inspector-toggle').setAttribute('aria-pressed', 'true');
  if (state.current) showVerdict(state.current.input, state.current.verdict, state.current.scan);
  // Inspector mode syncs the W3C lists (a report's evidence): status lists held only in the
  // compact form are fetched in that form now (docs/web.md, "Sync").
  const saved = await store.get('trust').catch(() => null);
  if (navigator.onLine && saved?.chain?.length) sync().catch(() => {});
}

function leftInspector() {
  $('inspector-toggle').setAttribute('aria-pressed', 'false');
  if (state.current) showVerdict(state.current.input, state.current.verdict, state.current.scan);
}

// ---------- UI wiring ----------

function bindUi() {
  $('lang').addEventListener('change', async (e) => {
    await loadLang(e.target.value).catch(() => {});
    setLang(e.target.value);
    applyStatic();
    renderNet();
    renderSync();
    renderSession();
    if (state.current) showVerdict(state.current.input, state.current.verdict, state.current.scan);
    renderRoots();
    camera().then((m) => m.updateCamButton()).catch(() => {});
    state.inspector?.refresh();
  });
  $('inspector-toggle').addEventListener('click', () => (state.inspector?.isActive() ? state.inspector.leave().then(leftInspector) : enterInspector()).catch((e) => console.error(e)));
  $('manual-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('manual');
    for (const line of input.value.split(/[\r\n]+/)) scanned(line, 'keyboard');
    input.value = '';
  });
  // Pasting several codes (one per line) checks them all; a single line waits for Enter.
  $('manual').addEventListener('paste', (e) => {
    const text = e.clipboardData?.getData('text') ?? '';
    const lines = text.split(/[\r\n]+/).filter((l) => l.trim());
    if (lines.length > 1 || /[\r\n]\s*$/.test(text)) {
      e.preventDefault();
      lines.forEach((l) => scanned(l, 'paste'));
    }
  });
  $('export-csv').addEventListener('click', () => exports().then((m) => download(`cellproof-session-${stamp()}.csv`, 'text/csv',
    m.sessionCsv(state.session, wasm))));
  $('export-json').addEventListener('click', () => exports().then((m) => download(`cellproof-session-${stamp()}.json`, 'application/json',
    m.sessionJson(state.session, state.syncedAt))));
  $('clear').addEventListener('click', () => { state.session = []; state.sightings.clear(); store.clearScans().catch(() => {}); renderSession(); });
  $('pack-sync').addEventListener('click', () => pack().then((m) => m.syncPack()).catch(() => {}));
  $('sync').addEventListener('click', () => sync().then(recheck).catch(() => {}));
  $('cam-toggle').addEventListener('click', () => camera().then((m) => m.toggleCamera()));
  $('roots-keep').addEventListener('click', () => roots().then((m) => m.keepRoots()));
  $('roots-accept').addEventListener('click', () => roots().then((m) => m.acceptRoots()));
  window.addEventListener('online', renderNet);
  window.addEventListener('offline', renderNet);
  let deferred = null;
  window.addEventListener('beforeinstallprompt', (e) => { e.preventDefault(); deferred = e; $('install').hidden = false; });
  $('install').addEventListener('click', () => { deferred?.prompt(); $('install').hidden = true; });
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  console.error(e);
});
