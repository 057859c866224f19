// The page's one mutable state, its metrics hook and the pure transitions of a scan session
// (which scan is a repeat, a sighting still in view, which clone hints it raises). Nothing here
// touches the DOM, the network or IndexedDB: tests/web-unit runs it under `node --test`.

/** The camera sees a code in many frames while it is in view: detections of the same code less
 * than this far apart are one sighting. Moving the phone to the next battery takes longer. */
export const SAME_SIGHTING_MS = 3000;

export const nowSecs = () => Date.now() / 1000;

/** Test and figure hooks: timings in ms since navigation start (tests/browser, scale.mjs). */
export const metrics = (globalThis.cellproofMetrics ??= {
  start: globalThis.performance?.now() ?? 0, verifications: 0, renders: 0,
});

export const state = {
  verifier: null,
  roots: null, // [{eco, root}] pinned on this device
  syncedAt: null, // ms
  session: [], // [{key, input, verdict, at, source, seen, lastSeen, hints}], newest first
  sightings: new Map(), // camera: key -> last detection (ms)
  lastKey: null, // the key of the last scan, for `label_again`
  rootsWarning: null, // {offered: [{eco, root}], at} while the registry reports other roots
  current: null, // {input, verdict, scan}: what the verdict box shows
  scanner: null,
  chains: new Map(), // Digital Link path -> passport chain JSON fetched from the registry
  passportState: new Map(), // Digital Link path -> 'loading' | 'none' | 'unavailable'
  resolveModule: null, // web/resolve.js once a label was resolved online (loaded then only)
  resolved: new Map(), // label text -> what web/resolve.js fetched for it (`verifyResolved`'s JSON)
  pack: null, // {passports: {path: chain}, missing, at, size, documents...}: the offline pack
  inspector: null, // web/inspector.js once inspector mode was entered (loaded on entry only)
};

/** What the page does after a change another module made (a sync, a pack): app.js listens
 * (`synced`, `verdict-stale`), so the modules that change data need not import the views. */
export const events = new EventTarget();
export const emit = (type) => events.dispatchEvent(new Event(type));

/** Session key: the scanned text itself. A copied label is the same text on another battery,
 * so it is a repeat of the same key. */
export function keyOf(input) {
  return String(input).trim();
}

/** Adds a clone hint to a scan record once (docs/web.md, "Clone hints"). */
export function addHint(scan, hint) {
  scan.hints = [...new Set([...(scan.hints ?? []), hint])];
  return scan;
}

/** True when a camera detection of `key` at `now` (ms) is the same sighting as the last one
 * (the code is still in view); notes the detection either way. */
export function sameSighting(sightings, key, now) {
  const last = sightings.get(key);
  sightings.set(key, now);
  return last != null && now - last < SAME_SIGHTING_MS;
}

/** One camera frame's codes, counted: the same text twice in one frame is two labels. */
export function frameCounts(texts) {
  const counts = new Map();
  for (const x of texts) {
    const k = keyOf(x);
    if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/**
 * The session's transition for one verified scan of `key` at `now` (ms): a known key is counted
 * again on its row (`label_again` when other codes came between), a new key gets a new row at
 * the top, and one serial under two different credentials marks both rows `serial_twice`.
 * Returns `{scan, isNew, touched}`: the row shown, and the other rows whose hints changed (each
 * needs its record written again).
 */
export function recordScan(st, { key, input, verdict, now, source }) {
  const previous = st.lastKey;
  st.lastKey = key;
  const known = st.session.find((s) => s.key === key);
  if (known) {
    // Scanned again after other codes: the same credential on a second physical label.
    if (previous !== key) addHint(known, 'label_again');
    Object.assign(known, { verdict, seen: (known.seen ?? 1) + 1, lastSeen: now });
    return { scan: known, isNew: false, touched: [] };
  }
  const scan = { key, input, verdict, at: now, source, seen: 1, lastSeen: now };
  // One serial under two different credentials: at least one of the labels is not the
  // issuer's label for this battery.
  const sub = verdict?.claims?.sub;
  const touched = sub ? st.session.filter((s) => s.verdict?.claims?.sub === sub) : [];
  for (const other of touched) {
    addHint(other, 'serial_twice');
    addHint(scan, 'serial_twice');
  }
  st.session.unshift(scan);
  return { scan, isNew: true, touched };
}

/** The session log restored from IndexedDB (`restored`, newest first) under the scans made
 * since the page started (`current`): a key scanned meanwhile keeps its fresh row. */
export function mergeSession(current, restored) {
  const fresh = new Set(current.map((s) => s.key));
  return [...current, ...restored.filter((s) => !fresh.has(s.key))];
}

/** The session in scan order (it is kept newest first; a paste scans several in one ms). */
export function oldestFirst(session) {
  return [...session].reverse().sort((a, b) => a.at - b.at);
}

/** A `Cellproof-Cursor` value (docs/status-sync.md): `{instance:016x}-{epoch}-{validFrom}`. */
const CURSOR = /^[0-9a-f]{16}-\d{1,20}-\d{1,20}$/;

/** The `since` of the next status sync: none (the full body) unless the stored chain of bodies
 * it builds on is kept (1 to `maxChain` bodies); then the registry's cursor of the body applied
 * last, or, from a registry that sends none (or a stored value that is not one), the newest
 * `validFrom` held in seconds. */
export function nextSince({ cursor, chain, maxChain, seconds }) {
  if (!(chain > 0 && chain <= maxChain)) return null;
  if (typeof cursor === 'string' && CURSOR.test(cursor)) return cursor;
  return Number.isSafeInteger(seconds) && seconds > 0 ? String(seconds) : null;
}

/** The binding returns a verdict object for every input; anything else (a conversion that
 * failed) is shown as "cannot read this code", never as a blank page. */
export function isVerdict(v) {
  return v != null && typeof v === 'object' && typeof v.overall === 'string' && Array.isArray(v.stages);
}
