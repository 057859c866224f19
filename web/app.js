// The Cellproof page: consumer (QR URL opens the page), dealer (continuous scanning into a
// session list) and inspector (offline with synced, wasm-verified trust data). All checks run in
// the wasm binding of the Rust core; this file only moves data and renders verdicts. The URL
// fragment, which carries the credential, is never sent anywhere (SPEC.md section 2).

import init, { Verifier, recycledMinimums, csvColumns, checkDocument } from '/pkg/cellproof_wasm.js';
import * as store from '/store.js';
import { t, tc, tcat, detectLang, setLang, applyStatic, lang } from '/i18n.js';
import { Scanner, cameraProblem } from '/scanner.js';

const $ = (id) => document.getElementById(id);
const nowSecs = () => Date.now() / 1000;
// Test and figure hooks: timings in ms since navigation start.
const metrics = (window.cellproofMetrics = { start: performance.now(), verifications: 0, renders: 0 });
// The camera sees a code in many frames while it is in view: detections of the same code less
// than this far apart are one sighting. Moving the phone to the next battery takes longer.
const SAME_SIGHTING_MS = 3000;

const state = {
  verifier: null,
  roots: null, // [{eco, root}] pinned on this device
  syncedAt: null, // ms
  session: [], // [{key, input, verdict, at, source, seen, lastSeen}], newest first
  sightings: new Map(), // camera: key -> last detection (ms)
  rootsWarning: null, // {offered: [{eco, root}], at} while the registry reports other roots
  current: null, // {input, verdict}
  scanner: null,
  chains: new Map(), // Digital Link path -> passport chain JSON fetched from the registry
  passportState: new Map(), // Digital Link path -> 'loading' | 'none' | 'unavailable'
  pack: null, // {passports: {path: chain}, missing, at, size}: the inspector's offline pack
};

// ---------- start ----------

async function main() {
  setLang(detectLang());
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
  await init();
  metrics.wasmReady = performance.now();
  await restore();
  renderNet();
  renderSync();
  renderSession();
  renderRoots();
  const link = digitalLinkInPage();
  const needSync = !state.roots || !state.syncedAt;
  if (navigator.onLine && needSync) {
    await sync(await early).catch(() => {});
  }
  if (link) {
    showVerdict(link, verifyInput(link));
    // The passport comes after the label's verdict is on screen, never before it: the first
    // verdict's time budget (docs/web.md, "Weight") does not wait for the chain.
    loadPassport(link).catch(() => {});
  }
  if (navigator.onLine && !needSync && Date.now() - state.syncedAt > 10 * 60 * 1000) {
    // Refresh old data in the background, then re-check what is on screen.
    sync().then(() => state.current && showVerdict(state.current.input, verifyInput(state.current.input))).catch(() => {});
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  }
  if (await store.get('inspectorMode').catch(() => null)) await enterInspector().catch(() => {});
  metrics.ready = performance.now();
  document.body.dataset.ready = '1';
}

/** The page's own URL when it is a battery's QR URL with a fragment (consumer flow). */
function digitalLinkInPage() {
  if (/\/01\/[^/]+\/21\/[^/]+\/?$/.test(location.pathname) && location.hash.length > 1) {
    return location.href;
  }
  return null;
}

/** Loads the pinned roots and the stored lists into a fresh verifier (restores the clock floor). */
async function restore() {
  const saved = await store.get('trust').catch(() => null);
  state.verifier = buildVerifier(saved?.roots ?? [], saved);
  state.roots = saved?.roots ?? null;
  state.syncedAt = saved?.syncedAt ?? null;
  state.rootsWarning = (await store.get('rootsWarning').catch(() => null)) ?? null;
  state.pack = (await store.get('pack').catch(() => null)) ?? null;
  state.session = await restoreSession();
}

/** The session log, one IndexedDB record per scan; a log stored as one array by an earlier
 * version of the page is moved into records once. */
async function restoreSession() {
  const old = await store.get('session').catch(() => null);
  if (Array.isArray(old)) {
    for (const s of old) {
      if (s?.input && s.verdict) await store.putScan({ seen: 1, ...s, key: keyOf(s.input) }).catch(() => {});
    }
    await store.del('session').catch(() => {});
  }
  const scans = (await store.allScans().catch(() => [])).filter((s) => s?.verdict && s.input);
  return scans.sort((a, b) => b.at - a.at);
}

function buildVerifier(roots, saved) {
  const v = new Verifier();
  for (const r of roots) v.pinRoot(r.eco, JSON.stringify(r.root));
  if (saved?.held) v.loadBundle(JSON.stringify(saved.held));
  // The compact status bodies as received, full first, then the deltas in the order they were
  // applied (docs/web.md, "Sync"): each is verified again, as on the day it came.
  for (const body of saved?.chain ?? []) v.loadCompact(new Uint8Array(body));
  return v;
}

// ---------- sync ----------
// Status lists come in the compact form and, once held, as deltas (docs/status-sync.md); trust
// lists one per ecosystem. The W3C bundle only for a registry without the compact route, and in
// inspector mode: a sealed report's evidence is the W3C lists (docs/inspection.md).

/** Deltas kept before a sync fetches the full compact body again (as the CLI does). */
const MAX_CHAIN = 30;

async function fetchJson(path) {
  const res = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/** `GET /v1/status-compact[?since=T]` as bytes; null when the registry has no such route (an
 * older registry: 404). */
async function fetchCompact(since) {
  const path = since ? `/v1/status-compact?since=${since}` : '/v1/status-compact';
  const res = await fetch(path, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  (metrics.syncFetches ??= []).push({ path, bytes: bytes.length });
  return bytes;
}

/** The trust lists of `ecos` the registry serves (`GET /v1/trust-list/{eco}`), as text. */
async function fetchTrustLists(ecos) {
  const texts = await Promise.all([...new Set(ecos)].map((eco) => fetch(`/v1/trust-list/${encodeURIComponent(eco)}`, { cache: 'no-store' })
    .then((r) => (r.ok ? r.text() : null), () => null)));
  return texts.filter((x) => typeof x === 'string' && x.trim()).map((x) => x.trim());
}

/** The roots a `/v1/roots` answer offers. */
function offeredRoots(rootsDoc) {
  return Array.isArray(rootsDoc?.roots) ? rootsDoc.roots.filter((r) => r?.eco && r?.root) : [];
}

/**
 * The sync's requests, started together: the registry's roots; the trust lists of the pinned
 * ecosystems (`ecos`; on a first visit, none pinned yet, those the registry's roots name, once
 * they arrive); the status lists in the compact form, or the delta since `since`. The bundle
 * instead of the compact form when `bundle` is set or the registry has no compact route.
 */
function fetchSyncData({ ecos = null, since = null, bundle = false } = {}) {
  const started = performance.now();
  const timed = (data) => ({ ...data, fetchMs: performance.now() - started });
  const rootsDoc = fetchJson('/v1/roots').catch(() => null);
  if (bundle) return Promise.all([rootsDoc, fetchJson('/v1/bundle')]).then(([r, b]) => timed({ rootsDoc: r, bundle: b }));
  const trust = ecos ? fetchTrustLists(ecos) : rootsDoc.then((r) => fetchTrustLists(offeredRoots(r).map((x) => x.eco)));
  return Promise.all([rootsDoc, trust, fetchCompact(since)]).then(async ([r, trustLists, compact]) => timed(compact
    ? { rootsDoc: r, trustLists, compact, since }
    : { rootsDoc: r, bundle: await fetchJson('/v1/bundle') }));
}

/** Whether every list of a load report was kept (a no-op for one held already counts). */
const allKept = (report) => report.ok && report.status.every((r) => r.ok);

/**
 * Fetches the registry's roots, trust lists and status lists (or takes them as `prefetched`,
 * started early on a first visit), verifies everything in wasm on top of what is held (so a
 * rollback is refused), and stores only what the verifier accepted with the compact bodies it
 * came in. A delta that does not apply (`status_delta_base`, or refused) is dropped and the full
 * compact body fetched instead; the code is shown with the result.
 */
function sync(prefetched = null) {
  return queued(() => syncOnce(prefetched));
}

let syncQueue = Promise.resolve();

/** Runs `fn` after every sync (and pack) queued before it: each builds on what the one before
 * stored (one started while another runs, e.g. the button during the start-up sync, would
 * otherwise overwrite its result). */
function queued(fn) {
  const run = syncQueue.catch(() => {}).then(fn);
  syncQueue = run;
  return run;
}

async function syncOnce(prefetched) {
  $('sync-msg').textContent = t('syncing');
  let v = null;
  try {
    const saved = await store.get('trust').catch(() => null);
    const chain = Array.isArray(saved?.chain) ? saved.chain : [];
    const inspecting = Boolean(await store.get('inspectorMode').catch(() => null));
    const pinned = state.roots?.length ? state.roots : null;
    let data = prefetched;
    if (!data) {
      // The next delta starts at the newest list held (the verifier holds what is stored), when
      // the bodies it builds on are kept.
      const since = pinned && chain.length > 0 && chain.length <= MAX_CHAIN ? state.verifier.syncSince() : 0;
      data = await fetchSyncData({ ecos: pinned?.map((r) => r.eco) ?? null, since: since || null, bundle: inspecting });
    }
    const offered = offeredRoots(data.rootsDoc);
    let roots = state.roots;
    if (!roots || roots.length === 0) {
      // Trust on first use: the roots come from the registry that served this page, and stay
      // pinned afterwards; a registry reporting other roots later does not replace them.
      roots = offered;
    } else if (offered.length && rootsKey(offered) !== rootsKey(roots)) {
      // A persistent warning, not a status line: it is stored and shown on every load until
      // the user keeps the pinned keys or trusts the new ones (renderRoots).
      const dismissed = await store.get('rootsDismissed').catch(() => null);
      if (dismissed !== rootsKey(offered) && rootsKey(state.rootsWarning?.offered ?? []) !== rootsKey(offered)) {
        state.rootsWarning = { offered, at: Date.now() };
        await store.put('rootsWarning', state.rootsWarning).catch(() => {});
      }
    }
    if (!roots.length) throw new Error('no roots');
    const verifyStart = performance.now();
    // What is held: a copy of the verifier in use when the roots are its roots (it holds what is
    // stored; the copy is kept only if the sync succeeds), else built from what is stored.
    const held0 = () => (state.roots?.length && roots === state.roots ? state.verifier.fork() : buildVerifier(roots, saved));
    v = held0();
    let report;
    let newChain = [];
    let fallback = null;
    if (data.bundle) {
      // The W3C lists replace the compact bodies: every list is held in its W3C text.
      report = v.loadBundle(JSON.stringify(data.bundle));
      if (!report.ok) throw Object.assign(new Error(report.code), { code: report.code });
      metrics.syncVia = 'bundle';
    } else {
      const trust = v.loadBundle(JSON.stringify({ trustLists: data.trustLists }));
      report = v.loadCompact(data.compact);
      metrics.syncVia = data.since ? 'delta' : 'full';
      if (data.since && allKept(report)) {
        newChain = report.status.length ? [...chain, data.compact] : chain;
      } else {
        let full = data.compact;
        if (data.since) {
          // The delta did not apply: it is dropped with the copy it touched, and the full body
          // verified on top of what was held before.
          fallback = report.ok ? report.status.find((r) => !r.ok).code : report.code;
          v.free();
          v = held0();
          v.loadBundle(JSON.stringify({ trustLists: data.trustLists }));
          full = await fetchCompact(null);
          if (!full) throw new Error('/v1/status-compact: HTTP 404');
          report = v.loadCompact(full);
          metrics.syncVia = 'full';
        }
        if (!report.ok) throw Object.assign(new Error(report.code), { code: report.code });
        // A full body with every list kept replaces the chain; one with a list refused (an
        // older version than held: a rollback) is kept after it, so a reload holds the same.
        newChain = allKept(report) ? [full] : [...chain, full];
      }
      report = { ...report, trust: trust.trust };
    }
    metrics.syncFallback = fallback;
    const held = v.held();
    const statusCount = v.ages(nowSecs()).filter((a) => a.kind === 'status_list').length;
    const syncedAt = Date.now();
    const storeStart = performance.now();
    await store.put('trust', { roots, held, chain: newChain, syncedAt });
    // Figure hook (tests/browser/scale.mjs): the sync's phases; a fallback's second fetch is
    // counted in `verifyMs`, and so is the copy of what is held (`fork`).
    metrics.lastSync = { via: metrics.syncVia, fallback, fetchMs: data.fetchMs ?? null, verifyMs: storeStart - verifyStart,
      storeMs: performance.now() - storeStart, statusLists: statusCount };
    state.verifier?.free();
    Object.assign(state, { verifier: v, roots, syncedAt });
    metrics.synced = performance.now();
    const refused = [...report.trust, ...report.status].filter((r) => !r.ok);
    $('sync-msg').dataset.via = metrics.syncVia;
    $('sync-msg').dataset.fallback = fallback ?? '';
    $('sync-msg').textContent = t('synced', { n: held.trustLists.length, m: statusCount })
      + (fallback ? ` (${tc(fallback)})` : '')
      + (refused.length ? ` (${refused.map((r) => tc(r.code)).join(' ')})` : '');
    renderSync();
    renderRoots();
    inspector?.refresh();
    return report;
  } catch (e) {
    // The copy a failed sync worked on is not kept (the wasm memory it holds is freed now).
    if (v && v !== state.verifier) v.free();
    $('sync-msg').textContent = t('sync_failed', { why: e.code ? tc(e.code) : tc('network') });
    throw e;
  }
}

/** A comparable text of a set of roots: ecosystems and keys, in order. */
function rootsKey(rs) {
  return JSON.stringify([...rs].sort((a, b) => a.eco.localeCompare(b.eco)).map((r) => [r.eco, r.root?.x]));
}

/** RFC 7638 JWK thumbprint of an Ed25519 root (base64url of SHA-256 over the required members
 * in lexicographic order), or null where WebCrypto is unavailable (not a secure context). */
async function thumbprint(jwk) {
  if (!crypto?.subtle || typeof jwk?.x !== 'string') return null;
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)));
  return btoa(String.fromCharCode(...hash)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The first 64 bits of a thumbprint as four hex groups, short enough to compare by eye. */
function shortFingerprint(tp) {
  const bytes = Uint8Array.from(atob(tp.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).slice(0, 8);
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g).join(' ');
}

async function rootItems(roots) {
  return Promise.all(roots.map(async (r) => {
    const tp = await thumbprint(r.root).catch(() => null);
    return el('li', { 'data-testid': 'root', 'data-eco': r.eco, 'data-thumbprint': tp ?? '' },
      el('strong', { text: r.eco }), ' ',
      el('code', { text: tp ? shortFingerprint(tp) : String(r.root?.x ?? '').slice(0, 16) }));
  }));
}

/** The inspector panel's pinned roots with fingerprints, and the roots-changed warning. */
async function renderRoots() {
  $('roots-list').replaceChildren(...await rootItems(state.roots ?? []));
  $('roots-empty').hidden = (state.roots ?? []).length > 0;
  const w = state.rootsWarning;
  $('roots-warning').hidden = !w;
  if (w) {
    $('roots-warning-text').textContent = t('roots_changed_since', { when: new Date(w.at).toLocaleString(lang()) });
    $('roots-offered').replaceChildren(...await rootItems(w.offered));
  }
}

async function keepRoots() {
  const w = state.rootsWarning;
  if (w) await store.put('rootsDismissed', rootsKey(w.offered)).catch(() => {});
  state.rootsWarning = null;
  await store.del('rootsWarning').catch(() => {});
  renderRoots();
}

/** Pins the roots the registry now reports instead of the old ones, then syncs: lists signed
 * by the old roots no longer verify and are dropped by the verifier. */
async function acceptRoots() {
  const w = state.rootsWarning;
  if (!w) return;
  const saved = await store.get('trust').catch(() => null);
  await store.put('trust', { ...(saved ?? {}), roots: w.offered }).catch(() => {});
  state.roots = w.offered;
  state.verifier = buildVerifier(w.offered, saved);
  state.rootsWarning = null;
  await store.del('rootsWarning').catch(() => {});
  await store.del('rootsDismissed').catch(() => {});
  renderRoots();
  await sync().catch(() => {});
}

// ---------- verification ----------

function verifyInput(input) {
  const t0 = performance.now();
  let verdict = state.verifier.verify(input.trim(), nowSecs());
  // With the battery's passport chain at hand (fetched, or from the offline pack), the label
  // and the chain are verified together; the core decides, the page only passes the text.
  const chain = chainFor(verdict);
  if (chain != null) verdict = state.verifier.verifyWithChain(input.trim(), nowSecs(), chain);
  metrics.lastVerifyMs = performance.now() - t0;
  metrics.verifications += 1;
  return verdict;
}

/** Session key: the scanned text itself. A copied label is the same text on another battery,
 * so it is a repeat of the same key. */
function keyOf(input) {
  return input.trim();
}

/**
 * One scan from the camera, the keyboard wedge or a paste. The duplicate check comes first: a
 * code still in the camera's view is the same sighting and ignored (no verification, no
 * rendering, no write). A code scanned again is verified again (a revocation or stale data
 * since the first scan must show) and counted on its own row (seen, last seen); a new code gets
 * a new row. Either way the verdict is rendered once and one IndexedDB record is written.
 */
function scanned(input, source) {
  const text = input.trim();
  if (!text) return false;
  const key = keyOf(text);
  const now = Date.now();
  if (source === 'camera') {
    const last = state.sightings.get(key);
    state.sightings.set(key, now);
    if (last != null && now - last < SAME_SIGHTING_MS) return false;
  }
  const verdict = verifyInput(text);
  if (!isVerdict(verdict)) {
    showUnreadable();
    return false;
  }
  const known = state.session.find((s) => s.key === key);
  const previous = state.lastKey;
  state.lastKey = key;
  if (known) {
    // Scanned again after other codes: the same credential on a second physical label.
    if (previous !== key) addHint(known, 'label_again');
    Object.assign(known, { verdict, seen: (known.seen ?? 1) + 1, lastSeen: now });
    showVerdict(known.input, verdict, known);
    cue('again');
    store.putScan(known).catch(() => {});
    renderSession();
    loadPassport(known.input, known).catch(() => {});
    return false;
  }
  const scan = { key, input: text, verdict, at: now, source, seen: 1, lastSeen: now };
  // One serial under two different credentials: at least one of the labels is not the
  // issuer's label for this battery.
  const sub = verdict.claims?.sub;
  for (const other of sub ? state.session.filter((s) => s.verdict?.claims?.sub === sub) : []) {
    addHint(other, 'serial_twice');
    addHint(scan, 'serial_twice');
    store.putScan(other).catch(() => {});
  }
  state.session.unshift(scan);
  showVerdict(text, verdict, scan);
  metrics.firstScan ??= performance.now();
  cue(verdict.overall);
  store.putScan(scan).catch(() => {});
  renderSession();
  loadPassport(text, scan).catch(() => {});
  return true;
}

// ---------- clone hints ----------
// Hints, never verdicts (docs/web.md, "Clone hints"): `label_again` (the same credential
// scanned again after other codes: a second physical label), `two_in_frame` (the same
// credential on two labels in one camera frame), `serial_twice` (one serial under two
// different credentials). They are kept on the scan record, shown on its row and in the
// inspection report.

function addHint(scan, hint) {
  scan.hints = [...new Set([...(scan.hints ?? []), hint])];
}

/** One camera frame's codes: the same text twice in one frame is two labels. */
function frameTexts(texts) {
  const counts = new Map();
  for (const x of texts) counts.set(x.trim(), (counts.get(x.trim()) ?? 0) + 1);
  for (const [text, n] of counts) {
    scanned(text, 'camera');
    const scan = n > 1 ? state.session.find((s) => s.key === keyOf(text)) : null;
    if (scan && !scan.hints?.includes('two_in_frame')) {
      addHint(scan, 'two_in_frame');
      store.putScan(scan).catch(() => {});
      renderSession();
      if (state.current?.input === scan.input) showVerdict(scan.input, scan.verdict, scan);
    }
  }
}

/** The binding returns a verdict object for every input; anything else (a conversion that
 * failed) is shown as "cannot read this code", never as a blank page. */
function isVerdict(v) {
  return v != null && typeof v === 'object' && typeof v.overall === 'string' && Array.isArray(v.stages);
}

function showUnreadable() {
  state.current = null;
  const box = $('verdict');
  box.hidden = false;
  box.dataset.overall = 'unreadable';
  box.dataset.code = '';
  $('verdict-title').textContent = t('unreadable');
  $('verdict-sub').textContent = t('unreadable_sub');
  $('verdict-why').textContent = '';
  $('data-age').textContent = '';
  $('verdict-details').replaceChildren();
}

let audio = null;
function cue(overall) {
  navigator.vibrate?.(overall === 'valid' ? 60 : overall === 'again' ? [30, 40, 30] : [60, 60, 60]);
  try {
    audio ??= new AudioContext();
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = overall === 'valid' ? 880 : overall === 'again' ? 600 : 330;
    g.gain.value = 0.05;
    o.connect(g).connect(audio.destination);
    o.start();
    o.stop(audio.currentTime + 0.12);
  } catch { /* no audio: the visual row is the cue */ }
}

// ---------- rendering ----------

function fmtAge(secs) {
  if (secs < 120) return t('age_s', { n: Math.round(secs) });
  if (secs < 2 * 3600) return t('age_m', { n: Math.round(secs / 60) });
  if (secs < 2 * 86400) return t('age_h', { n: Math.round(secs / 3600) });
  return t('age_d', { n: Math.round(secs / 86400) });
}

/** "5 min old" for the oldest list of a kind, flagged when any is stale. */
function ageOf(ages, kind) {
  const list = ages.filter((a) => a.kind === kind);
  if (!list.length) return { text: t('none'), stale: false };
  const oldest = list.reduce((a, b) => (b.age > a.age ? b : a));
  const stale = list.some((a) => a.stale);
  return { text: fmtAge(oldest.age) + (stale ? ` — ${t('stale_flag')}` : ''), stale };
}

function dataAgeText(verdict) {
  // The lists the verdict used; when it used none (the scan did not decode), all held lists.
  const ages = verdict?.data?.length ? verdict.data : state.verifier.ages(nowSecs());
  if (!ages.length) return { text: t('data_none'), stale: true };
  const tr = ageOf(ages, 'trust_list');
  const st = ageOf(ages, 'status_list');
  return { text: t('data_age', { trust: tr.text, status: st.text }), stale: tr.stale || st.stale };
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function fact(dl, label, value) {
  if (value == null || value === '') return;
  dl.append(el('dt', { text: label }), el('dd', { text: String(value) }));
}

function num(n, unit) {
  if (typeof n !== 'number') return null;
  return `${n.toLocaleString(lang())} ${unit}`;
}

function showVerdict(input, v, scan = null) {
  if (!isVerdict(v)) {
    showUnreadable();
    return;
  }
  state.current = { input, verdict: v, scan };
  metrics.renders += 1;
  const box = $('verdict');
  box.hidden = false;
  box.dataset.overall = v.overall;
  box.dataset.code = v.code ?? '';
  $('verdict-title').textContent = t(v.overall);
  $('verdict-sub').textContent = t(`${v.overall}_sub`);
  const why = [];
  if (v.code) why.push(tc(v.code));
  for (const n of v.notices) if (n !== v.code) why.push(tc(n));
  $('verdict-why').textContent = why.length ? `${t('why')}: ${why.join(' ')}` : '';
  const age = dataAgeText(v);
  $('data-age').textContent = age.text;
  $('data-age').classList.toggle('stale', age.stale);
  $('data-age').dataset.stale = age.stale ? '1' : '';
  $('verdict-details').replaceChildren(details(input, v));
  if (scan?.seen > 1) {
    // A copied label is the same credential on a second battery: say so, prominently.
    $('verdict-details').prepend(el('p', { class: 'again', 'data-testid': 'seen-again',
      text: t('seen_again', { n: scan.seen, first: new Date(scan.at).toLocaleTimeString(lang()) }) }));
  }
  for (const h of scan?.hints ?? []) {
    $('verdict-details').prepend(el('p', { class: 'again', 'data-testid': 'clone-hint', 'data-hint': h, text: t(`hint_${h}`) }));
  }
  if (v.notices.includes('resolver_unlisted')) {
    // A label that sends people to a site its maker does not list (SPEC.md section 4).
    $('verdict-details').prepend(el('p', { class: 'warning', role: 'alert', 'data-testid': 'resolver-warning', text: tc('resolver_unlisted') }));
  }
  if (inspector?.isActive()) $('verdict-details').append(inspector.verdictExtras(input, v, scan));
  metrics.lastVerdict = performance.now();
  metrics.firstVerdict ??= metrics.lastVerdict; // tests/browser/weight.test.mjs
}

function details(input, v) {
  const frag = document.createDocumentFragment();
  const dl = el('dl', { class: 'facts' });
  if (v.issuer) {
    const i = v.issuer;
    const path = i.recognizedBy ? `${i.eco}, ${t('recognised_by')} ${i.recognizedBy}` : i.eco;
    fact(dl, t('issuer'), `${i.name}${i.reg ? ` (${i.reg.scheme} ${i.reg.id})` : ''}`);
    fact(dl, t('trust_path'), path);
  } else if (v.claims) {
    fact(dl, t('issuer'), v.claims.iss);
  }
  const c = v.claims;
  if (c) {
    const bp = c.bp ?? {};
    fact(dl, t('gtin'), c.gtin);
    fact(dl, t('serial'), c.serial);
    fact(dl, t('category'), bp.cat ? tcat(bp.cat) : null);
    fact(dl, t('chemistry'), bp.chem);
    fact(dl, t('mass'), num(bp.kg, 'kg'));
    fact(dl, t('energy'), num(bp.kwh, 'kWh'));
    fact(dl, t('capacity'), num(bp.ah, 'Ah'));
    fact(dl, t('made'), [bp.mdt, bp.mpl].filter(Boolean).join(', '));
    fact(dl, t('manufacturer_id'), bp.mfr);
    if (typeof bp.cf === 'number') {
      fact(dl, t('carbon'), `${bp.cf.toLocaleString(lang())} kg CO₂e/kWh${bp.cfc ? `, ${t('carbon_class')} ${bp.cfc}` : ''}`);
    }
  }
  for (const s of v.status) {
    fact(dl, `${t('status')}: ${t(`purpose_${s.purpose}`)}`,
      t(s.state === 'ok' ? `status_ok_${s.purpose}` : `status_${s.state}`) + (s.age != null ? ` (${fmtAge(s.age)})` : ''));
  }
  frag.append(dl);
  if (v.passport) {
    frag.append(passportPanel(v));
  } else {
    if (c?.bp?.rc && typeof c.bp.rc === 'object') frag.append(recycledTable(c.bp.rc, c.bp.chem));
    if (c) frag.append(passportPlaceholder(v));
  }
  return frag;
}

/** True when the chemistry names lead (lead-acid: `Pb`, `PbA`, `lead-acid`, `VRLA`). */
function containsLead(chem) {
  return typeof chem === 'string' && /pb|lead|vrla/i.test(chem);
}

/**
 * Recycled content beside the Art. 8 minimums, with the attestation that backs each share when
 * the passport was verified (`backing`), or "declared". The lead minimum applies only to batteries that
 * contain lead: on a lithium battery a listed Pb share is shown without a minimum (never a red
 * cross), and a zero Pb share is not shown at all.
 */
function recycledTable(rc, chem, backing = null) {
  const mins = recycledMinimums();
  const lead = containsLead(chem);
  const table = el('table', { class: 'rc', 'data-testid': 'recycled' });
  table.append(el('caption', { text: `${t('recycled')} (%): ${t('recycled_note')}` }));
  table.append(el('tr', {}, el('th'), el('th', { text: t('recycled') }), el('th', { text: t('min2031') }), el('th', { text: t('min2036') }),
    backing ? el('th', { text: t('backed_by') }) : null));
  for (const m of mins) {
    const v = rc[m.element];
    if (!Array.isArray(v)) continue;
    const total = v.reduce((a, b) => a + (Number(b) || 0), 0);
    const applies = m.element !== 'Pb' || lead;
    if (!applies && total === 0) continue;
    const min = (x) => (applies ? `${total >= x ? '✓' : '✗'} ${x}` : t('not_applicable'));
    table.append(el('tr', { 'data-element': m.element }, el('th', { text: m.element }),
      el('td', { text: `${total.toLocaleString(lang(), { maximumFractionDigits: 1 })} (${v.join(' + ')})` }),
      el('td', { text: min(m.min2031) }),
      el('td', { text: min(m.min2036) }),
      backing ? el('td', { class: 'mark-cell', text: claimMark(backing(m.element)) }) : null));
  }
  return table;
}

// ---------- passport (SPEC.md sections 3 and 7) ----------

const ECO_NAMES = { 'catena-x': 'Catena-X', ouranos: 'Ouranos' };
const ecoName = (e) => ECO_NAMES[e] ?? e;
const MATERIALS = { Co: 'cobalt', Li: 'lithium', Ni: 'nickel', Pb: 'lead', graphite: 'graphite' };
const TOPICS = {
  'sourcing.due-diligence': 'topic_sourcing', 'content.recycled': 'topic_recycled',
  'emissions.carbon-footprint': 'topic_carbon', 'conformity.declaration': 'topic_conformity',
};

/** The chain to verify a label with: fetched from the registry, else from the offline pack. */
function chainFor(v) {
  const sub = v?.claims?.sub;
  if (!sub) return null;
  if (state.chains.has(sub)) return state.chains.get(sub);
  const packed = state.pack?.passports?.[sub];
  return packed ? JSON.stringify(packed) : null;
}

/**
 * After the label's verdict is shown: fetches the battery's passport chain from the page's own
 * registry (`GET /v1/passports/{gtin}/{serial}`, SPEC.md section 6.2) when online, verifies
 * label and chain together in wasm and renders the verdict again with the passport panel.
 * Offline, or when the registry cannot be reached, the synced pack's chain (already used by
 * verifyInput) stands in; without either, the panel says the passport was not checked.
 */
async function loadPassport(input, scan = null) {
  const first = scan?.verdict ?? state.current?.verdict;
  const c = first?.claims;
  if (!c?.sub) return;
  const sub = c.sub;
  let changed = false;
  if (navigator.onLine) {
    try {
      const res = await fetch(`/v1/passports/${c.gtin}/${sub.split('/21/')[1]}`, { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (res.ok) {
        const text = await res.text();
        changed = text !== state.chains.get(sub);
        state.chains.set(sub, text);
        state.passportState.delete(sub);
      } else {
        state.passportState.set(sub, res.status === 404 ? 'none' : 'unavailable');
      }
    } catch {
      state.passportState.set(sub, 'unavailable');
    }
  } else if (!state.pack?.passports?.[sub]) {
    state.passportState.set(sub, 'unavailable');
  }
  if (!changed) {
    // Nothing new to verify (no passport, not reachable, or the chain already used): only the
    // panel's state line changes; no second verification, render or IndexedDB write (the
    // session's once-per-scan rules, tests/browser/session.test.mjs).
    const panel = document.querySelector('#verdict-details [data-testid="passport-panel"]');
    if (panel && state.current?.input === input && !state.current.verdict.passport) panel.replaceWith(passportPlaceholder(state.current.verdict));
    metrics.passportDone = performance.now();
    return;
  }
  const v = verifyInput(input);
  if (scan && isVerdict(v)) {
    scan.verdict = v;
    store.putScan(scan).catch(() => {});
    renderSession();
  }
  if (state.current?.input === input && isVerdict(v)) showVerdict(input, v, scan ?? state.current.scan);
  if (v?.passport) {
    metrics.passportShown ??= performance.now();
    metrics.passportVerifyMs ??= metrics.lastVerifyMs;
  }
  metrics.passportDone = performance.now();
}

function stageOf(v, stage) {
  return v.stages.find((s) => s.stage === stage)?.outcome ?? null;
}

/** Where the passport stands when the verdict has none: loading, not held, not reachable, or
 * refused (a passport-stage failure decides the verdict and is named in it). */
function passportPlaceholder(v) {
  const sub = v.claims?.sub;
  const failed = stageOf(v, 'passport') === 'failed';
  const st = failed ? 'failed' : state.passportState.get(sub) ?? (navigator.onLine ? 'loading' : 'unavailable');
  const text = failed ? `✗ ${tc(v.code ?? 'passport_invalid')}` : t(`pp_${st}`);
  return el('section', { class: 'passport', 'data-testid': 'passport-panel', 'data-state': st },
    el('h3', { text: t('pp_title') }), el('p', { text }));
}

function date(secs) {
  const n = Number(secs);
  return Number.isFinite(n) ? new Date(n * 1000).toLocaleDateString(lang(), { year: 'numeric', month: 'long', day: 'numeric' }) : '';
}

/** One attestation result, in words: verified (by whom, in which data space, recognised by
 * whom, until when), declared by the manufacturer only, not checked, or failed (why). Icon and
 * word, never colour alone. */
function claim(a) {
  const mats = (a.materials ?? []).map((m) => t(`mat_${MATERIALS[m] ?? 'other'}`, { m })).join(', ');
  const topic = t(TOPICS[a.topic] ?? 'topic_other', { topic: a.topic }) + (mats ? ` (${mats})` : '');
  let line;
  if (a.outcome === 'verified') {
    const rec = /, recognised by (.+)$/.exec(a.path ?? '')?.[1];
    line = [t('claim_verified'), `${t('certified_by')} ${a.issuerName ?? a.issuer ?? ''}`,
      a.eco ? `${t('data_space')} ${ecoName(a.eco)}` : null,
      rec ? `${t('recognised_by')} ${ecoName(rec)}` : null,
      a.validUntil != null ? `${t('valid_until')} ${date(a.validUntil)}` : null].filter(Boolean).join(', ');
  } else if (a.outcome === 'declared') {
    line = t('claim_declared');
  } else if (a.outcome === 'not_checked') {
    line = `${t('claim_not_checked')}: ${a.code ? tc(a.code) : t('att_not_held')}`;
  } else {
    line = `${t('claim_failed')}: ${tc(a.code ?? 'attestation_failed')}${a.issuerName ? ` (${a.issuerName})` : ''}`;
  }
  const icon = { verified: '✓', declared: '•', not_checked: '?', failed: '✗' }[a.outcome] ?? '?';
  return el('div', { class: 'claim', 'data-testid': 'attestation', 'data-topic': a.topic ?? '',
    'data-materials': (a.materials ?? []).join(','), 'data-outcome': a.outcome ?? '', 'data-code': a.code ?? '' },
  el('span', { class: 'claim-icon', 'aria-hidden': 'true', text: icon }),
  el('div', {}, el('strong', { text: topic }), ' ', el('span', { text: line })));
}

/** Short mark for a table cell: icon and word. */
function claimMark(a) {
  if (!a) return `• ${t('claim_declared_short')}`;
  return { verified: `✓ ${t('claim_verified')}`, declared: `• ${t('claim_declared_short')}`,
    not_checked: `? ${t('claim_not_checked')}`, failed: `✗ ${t('claim_failed')}` }[a.outcome] ?? '?';
}

function section(title, testid, ...kids) {
  return el('section', { class: 'pp-section', 'data-testid': testid }, el('h4', { text: title }), ...kids);
}

function obj(x) {
  return x && typeof x === 'object' && !Array.isArray(x) ? x : {};
}

/** The passport panel: identity, performance, carbon footprint, materials, provenance,
 * documents, other claims, and for inspectors the chain with its digests. Every attestation
 * result is rendered exactly once, in the section of its topic. */
function passportPanel(v) {
  const p = v.passport;
  const s = obj(p.subject);
  const id = obj(s.identification);
  const ch = obj(s.characteristics);
  const mf = obj(s.manufacturing);
  const meta = obj(s.metadata);
  const atts = Array.isArray(v.attestations) ? v.attestations : [];
  const used = new Set();
  const take = (pred) => atts.filter((a, i) => !used.has(i) && pred(a) && used.add(i));
  const panel = el('section', { class: 'passport', 'data-testid': 'passport-panel', 'data-state': 'verified' },
    el('h3', { text: `${t('pp_title')} · ${t('pp_version', { n: p.version })}` }));
  if (atts.some((a) => a.outcome === 'failed')) {
    panel.append(el('p', { class: 'notice', role: 'alert', 'data-testid': 'attestation-notice', text: `⚠ ${tc('attestation_failed')}` }));
  }

  const idl = el('dl', { class: 'facts' });
  fact(idl, t('model'), id.model);
  fact(idl, t('category'), id.category ? tcat(id.category) : null);
  fact(idl, t('chemistry'), id.chemistry);
  fact(idl, t('manufacturer'), [v.issuer?.name, meta.economicOperatorId].filter(Boolean).join(', '));
  fact(idl, t('made'), [mf.place, mf.date].filter(Boolean).join(', '));
  fact(idl, t('passport_id'), meta.passportIdentifier);
  panel.append(section(t('sec_identity'), 'pp-identity', idl));

  const pdl = el('dl', { class: 'facts' });
  fact(pdl, t('capacity'), num(ch.ratedCapacityAh, 'Ah'));
  fact(pdl, t('energy'), num(ch.ratedEnergyKwh, 'kWh'));
  fact(pdl, t('voltage'), num(ch.nominalVoltageV, 'V'));
  fact(pdl, t('lifetime'), typeof ch.expectedLifetimeCycles === 'number' ? t('cycles', { n: ch.expectedLifetimeCycles.toLocaleString(lang()) }) : null);
  fact(pdl, t('mass'), num(ch.weightKg, 'kg'));
  panel.append(section(t('sec_performance'), 'pp-performance', pdl));

  const cf = Array.isArray(obj(s.sustainability).carbonFootprint) ? s.sustainability.carbonFootprint : [];
  const cdl = el('dl', { class: 'facts' });
  for (const f of cf.map(obj)) {
    fact(cdl, f.lifecycle ? `${t('carbon')} (${f.lifecycle})` : t('carbon'),
      `${typeof f.value === 'number' ? f.value.toLocaleString(lang()) : ''} ${f.unit ?? ''}${f.performanceClass ? `, ${t('carbon_class')} ${f.performanceClass}` : ''}`);
  }
  const cfClaims = take((a) => a.topic === 'emissions.carbon-footprint');
  if (cf.length || cfClaims.length) panel.append(section(t('sec_carbon'), 'pp-carbon', cdl, ...cfClaims.map(claim)));

  const active = obj(obj(s.materials).active);
  const rcClaims = take((a) => a.topic === 'content.recycled');
  const rc = {};
  for (const [sym, name] of Object.entries(MATERIALS)) {
    const m = obj(active[name]);
    if (typeof m.preConsumerShare === 'number' || typeof m.postConsumerShare === 'number') rc[sym] = [m.preConsumerShare ?? 0, m.postConsumerShare ?? 0];
  }
  if (Object.keys(rc).length || rcClaims.length) {
    const backing = (el_) => rcClaims.find((a) => (a.materials ?? []).includes(el_)) ?? null;
    panel.append(section(t('sec_materials'), 'pp-materials', recycledTable(rc, id.chemistry ?? v.claims?.bp?.chem, backing), ...rcClaims.map(claim)));
  }

  const prov = Array.isArray(s.materialsProvenance) ? s.materialsProvenance.map(obj) : [];
  const srcClaims = take((a) => a.topic === 'sourcing.due-diligence');
  if (prov.length || srcClaims.length) {
    const list = el('ul', { class: 'provenance' });
    const placed = new Set();
    for (const m of prov) {
      const li = el('li', { 'data-testid': 'provenance', 'data-material': String(m.material ?? '') },
        el('strong', { text: t(`mat_${MATERIALS[m.material] ?? 'other'}`, { m: m.material }) }));
      const pdl2 = el('dl', { class: 'facts' });
      fact(pdl2, t('supplier'), m.supplier);
      fact(pdl2, t('facility'), m.facility);
      fact(pdl2, t('origin'), m.originCountry);
      li.append(pdl2);
      srcClaims.forEach((a, i) => {
        if (!placed.has(i) && (a.materials ?? []).includes(m.material)) { placed.add(i); li.append(claim(a)); }
      });
      list.append(li);
    }
    const rest = srcClaims.filter((_, i) => !placed.has(i)).map(claim);
    panel.append(section(t('sec_provenance'), 'pp-provenance', list, ...rest));
  }

  const conf = obj(s.conformity);
  const links = [...cf.map((f) => f.declaration), conf.declarationOfConformity, ...(Array.isArray(conf.documents) ? conf.documents : [])]
    .map(obj).filter((l) => typeof l.hashDigest === 'string');
  const confClaims = take((a) => a.topic === 'conformity.declaration');
  if (links.length || confClaims.length) {
    panel.append(section(t('sec_documents'), 'pp-documents', el('ul', { class: 'documents' }, ...links.map(documentRow)), ...confClaims.map(claim)));
  }
  const other = take(() => true);
  if (other.length) panel.append(section(t('sec_other'), 'pp-other', ...other.map(claim)));
  panel.append(chainDetails(p, atts));
  return panel;
}

/** Inspector: every version's SHA-256 and each attestation's digest. */
function chainDetails(p, atts) {
  const versions = el('ol', { class: 'digests' }, ...(p.digests ?? []).map((d, i) =>
    el('li', { 'data-testid': 'version-digest' }, `${t('pp_version', { n: i + 1 })}: `, el('code', { text: d }))));
  const ad = el('ul', { class: 'digests' }, ...atts.filter((a) => a.digest).map((a) =>
    el('li', { 'data-testid': 'attestation-digest' }, `${a.topic}${a.materials?.length ? ` (${a.materials.join(', ')})` : ''}: `, el('code', { text: a.digest }))));
  return el('details', { class: 'chain', 'data-testid': 'chain-details' }, el('summary', { text: t('sec_chain') }),
    el('p', { text: t('chain_versions') }), versions, el('p', { text: t('chain_attestations') }), ad);
}

// Documents open as blobs of this page's origin: only types a browser shows inertly, so a
// matching document can never run script here (anything else is offered as a download).
const SAFE_TYPES = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/webp', 'text/plain']);

/** One document link (SPEC.md section 3.2): fetched from this page's registry by digest and
 * opened only after the digest matched in wasm; a mismatch is said, and nothing is opened. */
function documentRow(link) {
  const status = el('span', { class: 'doc-status' });
  const btn = el('button', { type: 'button', 'data-testid': 'document-check', text: t('doc_open') });
  const li = el('li', { 'data-testid': 'document', 'data-digest': link.hashDigest, 'data-state': 'idle' },
    el('strong', { text: String(link.name ?? link.hashDigest) }), ' ', btn, ' ', status);
  btn.addEventListener('click', () => openDocument(link, li, status));
  return li;
}

async function openDocument(link, li, status) {
  li.dataset.state = 'checking';
  status.textContent = t('doc_checking');
  if (!/^[A-Za-z0-9_-]{43}$/.test(link.hashDigest)) {
    li.dataset.state = 'mismatch';
    status.textContent = `✗ ${tc('document_digest_mismatch')}`;
    return;
  }
  // Offline (or when the registry cannot give it), the offline pack's copy, checked again.
  const packed = state.pack?.documents?.[link.hashDigest];
  try {
    let bytes = null;
    if (!packed || navigator.onLine) {
      try {
        const res = await fetch(`/v1/documents/${link.hashDigest}`);
        if (!res.ok) throw new Error(String(res.status));
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        if (!packed) throw e;
      }
    }
    const fromPack = !bytes;
    if (fromPack) bytes = packed.bytes instanceof Uint8Array ? packed.bytes : new Uint8Array(packed.bytes ?? []);
    li.dataset.source = fromPack ? 'pack' : 'registry';
    const r = checkDocument(bytes, link.hashDigest);
    if (!r?.ok) {
      li.dataset.state = 'mismatch';
      li.dataset.code = r?.code ?? 'document_digest_mismatch';
      status.textContent = `✗ ${tc(li.dataset.code)}`;
      return;
    }
    const type = SAFE_TYPES.has(link.mediaType) ? link.mediaType : 'application/octet-stream';
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    li.dataset.state = 'verified';
    const a = el('a', { href: url, target: '_blank', rel: 'noopener', 'data-testid': 'document-open', text: `✓ ${t('doc_verified')}` });
    if (type === 'application/octet-stream') a.setAttribute('download', link.hashDigest);
    status.replaceChildren(a);
    if (fromPack) {
      status.append(' ', el('span', { 'data-testid': 'document-from-pack',
        text: t('doc_from_pack', { when: new Date(state.pack.at).toLocaleString(lang()) }) }));
    }
  } catch {
    li.dataset.state = 'unavailable';
    status.textContent = `? ${t('doc_unavailable')}`;
  }
}

// ---------- offline pack (inspector) ----------

/** `01/{gtin}/21/{serial}` from a line: a label URL, a Digital Link path, or GTIN and serial. */
function itemPath(line) {
  const m = /(?:^|\/)01\/(\d{14})\/21\/([^/#?\s]+)/.exec(line.trim());
  return m ? `01/${m[1]}/21/${m[2]}` : null;
}

/**
 * Fetches a pack of the listed batteries' passports and attestations with the trust and status
 * lists (`POST /v1/pack`), lets the wasm verifier accept the lists as in a sync, and keeps the
 * chains in IndexedDB: offline verdicts of those batteries then include their passports. The
 * chains are verified at every use, never trusted because they were stored.
 */
async function syncPack() {
  const items = [...new Set($('pack-items').value.split(/[\r\n,]+/).map(itemPath).filter(Boolean))];
  const msg = $('pack-msg');
  if (!items.length) { msg.textContent = t('pack_none'); return; }
  msg.textContent = t('syncing');
  try {
    if (!state.roots?.length) await sync();
    const res = await fetch('/v1/pack', { method: 'POST', cache: 'no-store', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ items }) });
    if (!res.ok) throw new Error(String(res.status));
    const text = await res.text();
    const pack = JSON.parse(text);
    // In the sync queue: a sync running now would otherwise store its lists over the pack's.
    const syncedAt = await queued(async () => {
      const saved = await store.get('trust').catch(() => null);
      const v = buildVerifier(state.roots, saved);
      const report = v.loadBundle(JSON.stringify({ trustLists: pack.trustLists ?? [], statusLists: pack.statusLists ?? [] }));
      if (!report.ok) {
        v.free();
        throw Object.assign(new Error(report.code), { code: report.code });
      }
      const at = Date.now();
      await store.put('trust', { ...(saved ?? {}), roots: state.roots, held: v.held(), syncedAt: at });
      state.verifier?.free();
      Object.assign(state, { verifier: v, syncedAt: at });
      return at;
    });
    const passports = obj(pack.passports);
    const docs = packDocuments(pack);
    state.pack = { passports, missing: Array.isArray(pack.missing) ? pack.missing : [], at: syncedAt, size: text.length, ...docs };
    await store.put('pack', state.pack);
    msg.textContent = `${t('pack_done', { n: Object.keys(passports).length, kb: (text.length / 1000).toFixed(1), missing: state.pack.missing.length })} ${t('pack_docs', { d: Object.keys(docs.documents).length, o: docs.documentsOmitted.length, r: docs.documentsRefused.length })}`;
    msg.dataset.documents = String(Object.keys(docs.documents).length);
    renderSync();
    inspector?.refresh();
    if (state.current) showVerdict(state.current.input, verifyInput(state.current.input), state.current.scan);
  } catch (e) {
    msg.textContent = t('pack_failed', { why: e.code ? tc(e.code) : tc('network') });
  }
}

/** Bytes of unpadded base64url, or null. */
function b64uBytes(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** The pack's public documents (`documents`: digest to `{mediaType, data}`), each kept only
 * when its bytes match its digest in wasm (`checkDocument`); the others are named as refused.
 * Documents the registry left out for the pack's size bound, or does not hold, are named too. */
function packDocuments(pack) {
  const documents = {};
  const documentsRefused = [];
  for (const [digest, doc] of Object.entries(obj(pack.documents))) {
    const bytes = /^[A-Za-z0-9_-]{43}$/.test(digest) ? b64uBytes(doc?.data) : null;
    if (bytes && checkDocument(bytes, digest)?.ok) {
      documents[digest] = { mediaType: String(doc.mediaType ?? 'application/octet-stream'), bytes };
    } else {
      documentsRefused.push(digest);
    }
  }
  const list = (l) => (Array.isArray(l) ? l.filter((d) => typeof d === 'string') : []);
  return { documents, documentsRefused, documentsOmitted: list(pack.documentsOmitted), documentsMissing: list(pack.documentsMissing) };
}

function renderSession() {
  const ol = $('session');
  ol.replaceChildren(...state.session.map((s) => {
    const v = s.verdict;
    const who = v.issuer?.name ?? v.claims?.iss ?? '';
    const item = v.claims ? `${v.claims.gtin} / ${v.claims.serial}` : s.input.slice(0, 40);
    const seen = s.seen ?? 1;
    const again = seen > 1 ? t('seen_count', { n: seen, last: new Date(s.lastSeen ?? s.at).toLocaleTimeString(lang()) }) : '';
    const li = el('li', { 'data-testid': 'scan-row', 'data-overall': v.overall, 'data-code': v.code ?? '', 'data-seen': String(seen), tabindex: '0' },
      el('span', { class: 'mark', 'aria-hidden': 'true', text: { valid: '✓', invalid: '✗', unverifiable: '?' }[v.overall] }),
      el('div', {}, el('strong', { text: `${t(v.overall)} — ${item}` }),
        el('small', { text: [who, v.code ? tc(v.code) : '', new Date(s.at).toLocaleTimeString(lang())].filter(Boolean).join(' · ') }),
        again ? el('small', { class: 'again', 'data-testid': 'seen-count', text: again }) : null,
        ...(s.hints ?? []).map((h) => el('small', { class: 'again', 'data-testid': 'row-hint', 'data-hint': h, text: `⚠ ${t(`hint_${h}_short`)}` })),
        v.notices.includes('resolver_unlisted') ? el('small', { class: 'again', 'data-testid': 'row-hint', 'data-hint': 'resolver_unlisted', text: `⚠ ${t('hint_resolver_unlisted_short')}` }) : null,
        attestationCount(v)));
    li.addEventListener('click', () => showVerdict(s.input, v, s));
    return li;
  }));
  $('session-empty').hidden = state.session.length > 0;
}

function renderSync() {
  const when = state.syncedAt ? new Date(state.syncedAt).toLocaleString(lang()) : t('never');
  const age = dataAgeText(null);
  $('sync-info').textContent = `${t('last_sync', { when })}. ${age.text}`;
}

function renderNet() {
  $('net').textContent = navigator.onLine ? t('online') : t('offline');
}

// ---------- export ----------

// The CSV is the CLI's batch CSV: the same columns (csvColumns() of the binding, the core's
// CSV_COLUMNS), the same cells (VerdictJson::csv_cells in crates/core/src/report.rs) and the
// same escaping (csv_cell): docs/verdict-json.md.

// C0, DEL, C1 and the bidi controls (core `is_control`).
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * One CSV cell, safe to open in a spreadsheet: control characters written as `\u{..}`, a cell
 * starting with `=`, `+`, `-` or `@` prefixed with `'` so it is never a formula (OWASP CSV
 * injection: a QR code holding `=HYPERLINK(...)` is attacker text), every cell quoted.
 */
export function csvCell(v) {
  const s = String(v ?? '').replace(CONTROLS, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  const formula = /^[=+\-@\t\r]/.test(s);
  return `"${formula ? "'" : ''}${s.replace(/"/g, '""')}"`;
}

/** Unix seconds (a number, or a decimal string beyond 2^53) as RFC 3339, seconds precision. */
function rfc3339(secs) {
  const n = Number(secs);
  const d = new Date(n * 1000);
  return Number.isSafeInteger(n) && !Number.isNaN(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** `{verified}/{listed}` over the listed attestations, empty without a passport
 * (VerdictJson::attestations_cell). */
function attestationsCell(v) {
  const a = v.attestations ?? [];
  if (!a.length) return '';
  return `${a.filter((x) => x.outcome === 'verified').length}/${a.filter((x) => x.outcome !== 'declared').length}`;
}

/** The session row's "3/4 verified", when the passport lists attestations. */
function attestationCount(v) {
  const a = v.attestations ?? [];
  const listed = a.filter((x) => x.outcome !== 'declared');
  if (!listed.length) return null;
  const ok = listed.filter((x) => x.outcome === 'verified').length;
  return el('small', { 'data-testid': 'attestation-count', 'data-verified': String(ok), 'data-listed': String(listed.length),
    text: `${ok === listed.length ? '✓' : '⚠'} ${t('att_count', { v: ok, n: listed.length })}` });
}

/** The verdict's cells, `overall` to `verified_at` (VerdictJson::csv_cells). */
function verdictCells(v) {
  const status = (p) => v.status.find((x) => x.purpose === p)?.state ?? '';
  const link = v.claims ?? v.scanned;
  const ages = v.data ?? [];
  const oldest = ages.length ? ages.map((a) => BigInt(a.age)).reduce((a, b) => (b > a ? b : a)) : null;
  return [v.overall, v.code ?? '', v.notices.join(' '), v.issuer?.name ?? '', v.issuer?.id ?? v.claims?.iss ?? '',
    v.issuer?.path ?? '', link?.gtin ?? '', link?.serial ?? '', status('revocation'), status('suspension'), status('refresh'),
    attestationsCell(v), oldest == null ? '' : String(oldest), ages.some((a) => a.stale) ? 'yes' : 'no', rfc3339(v.now)];
}

/** The session in scan order (it is kept newest first; a paste scans several in one ms). */
function oldestFirst(session) {
  return [...session].reverse().sort((a, b) => a.at - b.at);
}

export function sessionCsv(session) {
  const rows = oldestFirst(session).map((s, i) => [String(i + 1), new Date(s.at).toISOString(),
    String(s.seen ?? 1), ...verdictCells(s.verdict), s.input]);
  return [csvColumns(), ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

function download(name, type, text) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

// ---------- inspector mode (web/inspector.js: loaded on entry only) ----------

let inspector = null;

/** Loads inspector mode (a dynamic import: a consumer's first visit never fetches it). */
async function enterInspector() {
  inspector ??= await import('/inspector.js');
  await inspector.enter({
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
  $('lang').addEventListener('change', (e) => {
    setLang(e.target.value);
    applyStatic();
    renderNet();
    renderSync();
    renderSession();
    if (state.current) showVerdict(state.current.input, state.current.verdict, state.current.scan);
    renderRoots();
    updateCamButton();
    inspector?.refresh();
  });
  $('inspector-toggle').addEventListener('click', () => (inspector?.isActive() ? inspector.leave().then(leftInspector) : enterInspector()).catch((e) => console.error(e)));
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
  $('export-csv').addEventListener('click', () => download(`cellproof-session-${stamp()}.csv`, 'text/csv', sessionCsv(state.session)));
  $('export-json').addEventListener('click', () => download(`cellproof-session-${stamp()}.json`, 'application/json',
    JSON.stringify({ exported: new Date().toISOString(), syncedAt: state.syncedAt, scans: oldestFirst(state.session) }, null, 2)));
  $('clear').addEventListener('click', () => { state.session = []; state.sightings.clear(); store.clearScans().catch(() => {}); renderSession(); });
  $('pack-sync').addEventListener('click', () => syncPack().catch(() => {}));
  $('sync').addEventListener('click', () => sync().then(() => state.current && showVerdict(state.current.input, verifyInput(state.current.input))).catch(() => {}));
  $('cam-toggle').addEventListener('click', toggleCamera);
  $('roots-keep').addEventListener('click', keepRoots);
  $('roots-accept').addEventListener('click', acceptRoots);
  window.addEventListener('online', renderNet);
  window.addEventListener('offline', renderNet);
  let deferred = null;
  window.addEventListener('beforeinstallprompt', (e) => { e.preventDefault(); deferred = e; $('install').hidden = false; });
  $('install').addEventListener('click', () => { deferred?.prompt(); $('install').hidden = true; });
}

function updateCamButton() {
  $('cam-toggle').textContent = state.scanner?.active ? t('stop_camera') : t('start_camera');
}

async function toggleCamera() {
  const msg = $('cam-msg');
  if (state.scanner?.active) {
    state.scanner.stop();
    document.querySelector('.camera').classList.remove('on');
    updateCamButton();
    return;
  }
  state.scanner ??= new Scanner($('video'), {
    // Every code of the frame, one entry per symbol (scanner.js: `result.codes`), so the same
    // credential on two labels in view counts twice.
    onTexts: (texts, r) => frameTexts(Array.isArray(r?.codes) ? r.codes.map((c) => c.text) : texts),
    onFrame: (r) => { metrics.lastFrameMs = r.ms; metrics.frames = (metrics.frames ?? 0) + 1; metrics.via = r.via; },
  });
  try {
    msg.hidden = true;
    await state.scanner.start();
    document.querySelector('.camera').classList.add('on');
    metrics.cameraStarted = performance.now();
    await cameraControls();
  } catch (e) {
    msg.textContent = t(cameraProblem(e));
    msg.dataset.problem = cameraProblem(e);
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

main().catch((e) => {
  document.body.dataset.ready = 'error';
  console.error(e);
});
