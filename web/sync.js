// Sync: the registry's roots, trust lists and status lists into the wasm verifier, and what it
// accepted into IndexedDB. Status lists come in the compact form and, once held, as deltas
// (docs/status-sync.md); trust lists one per ecosystem. The W3C bundle only for a registry
// without the compact route, and in inspector mode: a sealed report's evidence is the W3C lists
// (docs/inspection.md). After a sync that stored, `synced` is emitted (app.js re-renders).

import { Verifier } from './pkg/cellproof_wasm.js';
import * as store from './store.js';
import { t, tc } from './i18n.js';
import { state, metrics, nowSecs, emit, nextSince } from './state.js';
import { offeredRoots, rootsKey } from './format.js';
import { $ } from './dom.js';

/** Deltas kept before a sync fetches the full compact body again (as the CLI does). */
const MAX_CHAIN = 30;

/** The compact status bodies each verifier was built from (full first, then deltas): a list
 * held only in the compact form has no W3C text in `held()`, so another module that rebuilds
 * the page's lists (online resolution, web/resolve.js) loads these too. */
const chains = new WeakMap();

/** The compact bodies behind verifier `v` (empty for none). */
export function compactChain(v) {
  return chains.get(v) ?? [];
}

/** A verifier with the pinned `roots` and the stored lists (restores the clock floor). */
export function buildVerifier(roots, saved) {
  const v = new Verifier();
  for (const r of roots) v.pinRoot(r.eco, JSON.stringify(r.root));
  if (saved?.held) v.loadBundle(JSON.stringify(saved.held));
  // The compact status bodies as received, full first, then the deltas in the order they were
  // applied (docs/web.md, "Sync"): each is verified again, as on the day it came.
  for (const body of saved?.chain ?? []) v.loadCompact(new Uint8Array(body));
  chains.set(v, saved?.chain ?? []);
  return v;
}

async function fetchJson(path) {
  const res = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/** `GET /v1/status-compact[?since=C]` as `{body, cursor}`: the bytes, and the registry's
 * `Cellproof-Cursor` for the state the body brings its client to (docs/status-sync.md), or null
 * when the registry sends none (one from before the cursor). Null when the registry has no such
 * route (an older registry: 404). */
async function fetchCompact(since) {
  const path = since ? `/v1/status-compact?since=${encodeURIComponent(since)}` : '/v1/status-compact';
  const res = await fetch(path, { cache: 'no-store' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  const cursor = res.headers.get('Cellproof-Cursor');
  (metrics.syncFetches ??= []).push({ path, bytes: body.length, cursor });
  return { body, cursor };
}

/** The trust lists of `ecos` the registry serves (`GET /v1/trust-list/{eco}`), as text. */
async function fetchTrustLists(ecos) {
  const texts = await Promise.all([...new Set(ecos)].map((eco) => fetch(`/v1/trust-list/${encodeURIComponent(eco)}`, { cache: 'no-store' })
    .then((r) => (r.ok ? r.text() : null), () => null)));
  return texts.filter((x) => typeof x === 'string' && x.trim()).map((x) => x.trim());
}

/**
 * The sync's requests, started together: the registry's roots; the trust lists of the pinned
 * ecosystems (`ecos`; on a first visit, none pinned yet, those the registry's roots name, once
 * they arrive); the status lists in the compact form, or the delta since `since`. The bundle
 * instead of the compact form when `bundle` is set or the registry has no compact route.
 */
export function fetchSyncData({ ecos = null, since = null, bundle = false } = {}) {
  const started = performance.now();
  const timed = (data) => ({ ...data, fetchMs: performance.now() - started });
  const rootsDoc = fetchJson('/v1/roots').catch(() => null);
  if (bundle) return Promise.all([rootsDoc, fetchJson('/v1/bundle')]).then(([r, b]) => timed({ rootsDoc: r, bundle: b }));
  const trust = ecos ? fetchTrustLists(ecos) : rootsDoc.then((r) => fetchTrustLists(offeredRoots(r).map((x) => x.eco)));
  return Promise.all([rootsDoc, trust, fetchCompact(since)]).then(async ([r, trustLists, compact]) => timed(compact
    ? { rootsDoc: r, trustLists, compact: compact.body, cursor: compact.cursor, since }
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
export function sync(prefetched = null) {
  return queued(() => syncOnce(prefetched));
}

let syncQueue = Promise.resolve();

/** Runs `fn` after every sync (and pack) queued before it: each builds on what the one before
 * stored (one started while another runs, e.g. the button during the start-up sync, would
 * otherwise overwrite its result). */
export function queued(fn) {
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
      // The next delta starts where the last body applied left the page, when the bodies it
      // builds on are kept: the registry's cursor (a count of its publications, so a delta
      // never depends on its clock going forward), else the newest list held in seconds.
      const since = pinned ? nextSince({ cursor: saved?.cursor, chain: chain.length, maxChain: MAX_CHAIN, seconds: state.verifier.syncSince() }) : null;
      data = await fetchSyncData({ ecos: pinned?.map((r) => r.eco) ?? null, since, bundle: inspecting });
    }
    const offered = offeredRoots(data.rootsDoc);
    let roots = state.roots;
    if (!roots || roots.length === 0) {
      // Trust on first use: the roots come from the registry that served this page, and stay
      // pinned afterwards; a registry reporting other roots later does not replace them.
      roots = offered;
    } else if (offered.length && rootsKey(offered) !== rootsKey(roots)) {
      // A persistent warning, not a status line: it is stored and shown on every load until
      // the user keeps the pinned keys or trusts the new ones (roots.js).
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
    let cursor = null; // the cursor of the compact body applied last
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
        cursor = data.cursor;
      } else {
        cursor = data.cursor;
        let full = data.compact;
        if (data.since) {
          // The delta did not apply: it is dropped with the copy it touched, and the full body
          // verified on top of what was held before.
          fallback = report.ok ? report.status.find((r) => !r.ok).code : report.code;
          v.free();
          v = held0();
          v.loadBundle(JSON.stringify({ trustLists: data.trustLists }));
          const got = await fetchCompact(null);
          if (!got) throw new Error('/v1/status-compact: HTTP 404');
          ({ body: full, cursor } = got);
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
    await store.put('trust', { roots, held, chain: newChain, syncedAt, cursor });
    // Figure hook (tests/browser/scale.mjs): the sync's phases; a fallback's second fetch is
    // counted in `verifyMs`, and so is the copy of what is held (`fork`).
    metrics.lastSync = { via: metrics.syncVia, fallback, fetchMs: data.fetchMs ?? null, verifyMs: storeStart - verifyStart,
      storeMs: performance.now() - storeStart, statusLists: statusCount };
    state.verifier?.free();
    chains.set(v, newChain);
    Object.assign(state, { verifier: v, roots, syncedAt });
    metrics.synced = performance.now();
    const refused = [...report.trust, ...report.status].filter((r) => !r.ok);
    $('sync-msg').dataset.via = metrics.syncVia;
    $('sync-msg').dataset.fallback = fallback ?? '';
    $('sync-msg').textContent = t('synced', { n: held.trustLists.length, m: statusCount })
      + (fallback ? ` (${tc(fallback)})` : '')
      + (refused.length ? ` (${refused.map((r) => tc(r.code)).join(' ')})` : '');
    emit('synced');
    return report;
  } catch (e) {
    // The copy a failed sync worked on is not kept (the wasm memory it holds is freed now).
    if (v && v !== state.verifier) v.free();
    $('sync-msg').textContent = t('sync_failed', { why: e.code ? tc(e.code) : tc('network') });
    throw e;
  }
}
