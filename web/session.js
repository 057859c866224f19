// The dealer's session: scans from the camera, the keyboard wedge or a paste, each verified,
// shown, counted on its row and written to IndexedDB once (one record per scan), with the
// clone hints (docs/web.md, "Clone hints": hints, never verdicts). The transitions themselves
// are state.js's pure `recordScan`, `sameSighting` and `frameCounts`.

import * as store from './store.js';
import { t, tc, lang } from './i18n.js';
import { state, metrics, keyOf, addHint, sameSighting, frameCounts, recordScan, isVerdict } from './state.js';
import { attestationCounts } from './format.js';
import { $, el } from './dom.js';
import { verifyInput, loadPassport } from './verify.js';
import { showVerdict, showUnreadable } from './verdict-view.js';

/** The session log, one IndexedDB record per scan, newest first; a log stored as one array by
 * an earlier version of the page is moved into records once. */
export async function restoreSession() {
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

/**
 * One scan. The duplicate check comes first: a code still in the camera's view is the same
 * sighting and ignored (no verification, no rendering, no write). A code scanned again is
 * verified again (a revocation or stale data since the first scan must show) and counted on its
 * own row (seen, last seen); a new code gets a new row. Either way the verdict is rendered once
 * and one IndexedDB record is written. Returns whether a new row was added.
 */
export function scanned(input, source) {
  const text = String(input).trim();
  if (!text) return false;
  const key = keyOf(text);
  const now = Date.now();
  if (source === 'camera' && sameSighting(state.sightings, key, now)) return false;
  // A label resolved online before is resolved again (online) rather than its old answer reused.
  state.resolved.delete(text);
  const verdict = verifyInput(text);
  if (!isVerdict(verdict)) {
    showUnreadable();
    return false;
  }
  const { scan, isNew, touched } = recordScan(state, { key, input: text, verdict, now, source });
  for (const other of touched) store.putScan(other).catch(() => {});
  showVerdict(scan.input, verdict, scan);
  if (isNew) metrics.firstScan ??= performance.now();
  cue(isNew ? verdict.overall : 'again');
  store.putScan(scan).catch(() => {});
  renderSession();
  loadPassport(scan.input, scan).catch(() => {});
  return isNew;
}

/** One camera frame's codes: the same text twice in one frame is two labels. */
export function frameTexts(texts) {
  for (const [text, n] of frameCounts(texts)) {
    scanned(text, 'camera');
    const scan = n > 1 ? state.session.find((s) => s.key === text) : null;
    if (scan && !scan.hints?.includes('two_in_frame')) {
      addHint(scan, 'two_in_frame');
      store.putScan(scan).catch(() => {});
      renderSession();
      if (state.current?.input === scan.input) showVerdict(scan.input, scan.verdict, scan);
    }
  }
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

/** The session row's "3/4 verified", when the passport lists attestations. */
function attestationCount(v) {
  const n = attestationCounts(v);
  if (!n) return null;
  return el('small', { 'data-testid': 'attestation-count', 'data-verified': String(n.verified), 'data-listed': String(n.listed),
    text: `${n.verified === n.listed ? '✓' : '⚠'} ${t('att_count', { v: n.verified, n: n.listed })}` });
}

/**
 * What a session row names: the signed claims' battery; else the identifier the label names
 * (SPEC.md 2.1: a plain Digital Link or element string verifies offline to
 * `no_embedded_credential`, and its raw text, a URL or an element string with GS separators, is
 * not what a dealer reads); else the start of the scanned text.
 */
export function rowItem(scan) {
  const v = scan.verdict;
  if (v?.claims) return `${v.claims.gtin} / ${v.claims.serial}`;
  if (typeof v?.label?.identifier === 'string') return v.label.identifier;
  return String(scan.input ?? '').slice(0, 40);
}

export function renderSession() {
  const ol = $('session');
  ol.replaceChildren(...state.session.map((s) => {
    const v = s.verdict;
    const who = v.issuer?.name ?? v.claims?.iss ?? '';
    const item = rowItem(s);
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
