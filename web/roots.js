// The pinned roots panel: each root with its RFC 7638 fingerprint (the core's
// `jwk_thumbprint` through the binding, so it works outside a secure context too), and the
// persistent warning when the registry reports other roots than those pinned.

import { jwkThumbprint } from './pkg/cellproof_wasm.js';
import * as store from './store.js';
import { t, lang } from './i18n.js';
import { state } from './state.js';
import { rootsKey, shortFingerprint } from './format.js';
import { $, el } from './dom.js';
import { sync, buildVerifier } from './sync.js';

/** The RFC 7638 thumbprint of a root's JWK, or null when it is not an Ed25519 public key. */
export function thumbprint(jwk) {
  return jwk && typeof jwk === 'object' ? jwkThumbprint(JSON.stringify(jwk)) ?? null : null;
}

function rootItems(roots) {
  return roots.map((r) => {
    const tp = thumbprint(r.root);
    return el('li', { 'data-testid': 'root', 'data-eco': r.eco, 'data-thumbprint': tp ?? '' },
      el('strong', { text: r.eco }), ' ',
      el('code', { text: tp ? shortFingerprint(tp) : String(r.root?.x ?? '').slice(0, 16) }));
  });
}

/** The inspector panel's pinned roots with fingerprints, and the roots-changed warning. */
export function renderRoots() {
  $('roots-list').replaceChildren(...rootItems(state.roots ?? []));
  $('roots-empty').hidden = (state.roots ?? []).length > 0;
  const w = state.rootsWarning;
  $('roots-warning').hidden = !w;
  if (w) {
    $('roots-warning-text').textContent = t('roots_changed_since', { when: new Date(w.at).toLocaleString(lang()) });
    $('roots-offered').replaceChildren(...rootItems(w.offered));
  }
}

export async function keepRoots() {
  const w = state.rootsWarning;
  if (w) await store.put('rootsDismissed', rootsKey(w.offered)).catch(() => {});
  state.rootsWarning = null;
  await store.del('rootsWarning').catch(() => {});
  renderRoots();
}

/** Pins the roots the registry now reports instead of the old ones, then syncs: lists signed
 * by the old roots no longer verify and are dropped by the verifier. */
export async function acceptRoots() {
  const w = state.rootsWarning;
  if (!w) return;
  const saved = await store.get('trust').catch(() => null);
  // The cursor is dropped with the old roots: lists only they signed are no longer held, and a
  // delta from the cursor would not bring them again (the newest list held, in seconds, does).
  await store.put('trust', { ...(saved ?? {}), roots: w.offered, cursor: null }).catch(() => {});
  state.roots = w.offered;
  state.verifier = buildVerifier(w.offered, saved);
  state.rootsWarning = null;
  await store.del('rootsWarning').catch(() => {});
  await store.del('rootsDismissed').catch(() => {});
  renderRoots();
  await sync().catch(() => {});
}
