// Verification of one scan in wasm, with the battery's passport chain when one is at hand
// (fetched from the registry, or from the offline pack), and the fetch of that chain after the
// label's verdict is on screen. The core decides; this module only passes the text.

import * as store from './store.js';
import { state, metrics, nowSecs, isVerdict, emit } from './state.js';
import { passportPath } from './format.js';
import { showVerdict, passportPlaceholder, loadPanel } from './verdict-view.js';

/** The chain to verify a label with: fetched from the registry, else from the offline pack. */
function chainFor(v) {
  const sub = v?.claims?.sub;
  if (!sub) return null;
  if (state.chains.has(sub)) return state.chains.get(sub);
  const packed = state.pack?.passports?.[sub];
  return packed ? JSON.stringify(packed) : null;
}

/** The verdict of one scan now: the label, and the label with its chain when one is held. */
export function verifyInput(input) {
  const t0 = performance.now();
  let verdict = state.verifier.verify(input.trim(), nowSecs());
  // A label resolved online (web/resolve.js): its passport again, with the data held now.
  const resolved = verdict?.code === 'no_embedded_credential' && state.resolved.get(input.trim());
  const chain = resolved ? null : chainFor(verdict);
  // (state.resolveModule is web/resolve.js, loaded when it resolved, with its wasm module.)
  if (resolved && state.resolveModule) verdict = state.resolveModule.verifyAgain(input.trim(), resolved) ?? verdict;
  else if (chain != null) verdict = state.verifier.verifyWithChain(input.trim(), nowSecs(), chain);
  metrics.lastVerifyMs = performance.now() - t0;
  metrics.verifications += 1;
  return verdict;
}

/** A label without a credential, online: resolved by web/resolve.js (loaded only now). No
 * verdict in the box meanwhile; should resolving not answer at all, the offline one again. */
async function resolveOnline(input, scan) {
  if (state.current?.input === input) Object.assign(document.getElementById('verdict').dataset, { overall: '', resolving: '' });
  const v = await import('./resolve.js').then((m) => { state.resolveModule = m; return m.resolve(input.trim(), scan); }).catch(() => null);
  if (!v && state.current?.input === input) showVerdict(input, state.current.verdict, state.current.scan);
}

/**
 * After the label's verdict is shown: fetches the battery's passport chain from the page's own
 * registry (`GET /v1/passports/{gtin}/{serial}`, SPEC.md section 6.2) when online, verifies
 * label and chain together in wasm and renders the verdict again with the passport panel (its
 * module loaded meanwhile). Offline, or when the registry cannot be reached, the synced pack's
 * chain (already used by verifyInput) stands in; without either, the panel says the passport
 * was not checked.
 */
export async function loadPassport(input, scan = null) {
  const first = scan?.verdict ?? state.current?.verdict;
  if (first?.code === 'no_embedded_credential' && navigator.onLine) return resolveOnline(input, scan);
  const c = first?.claims;
  if (!c?.sub) return;
  const sub = c.sub;
  const panel = loadPanel();
  let changed = false;
  if (navigator.onLine) {
    try {
      const res = await fetch(passportPath(c), { cache: 'no-store', headers: { Accept: 'application/json' } });
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
    const shown = document.querySelector('#verdict-details [data-testid="passport-panel"]');
    if (shown && state.current?.input === input && !state.current.verdict.passport) shown.replaceWith(passportPlaceholder(state.current.verdict));
    metrics.passportDone = performance.now();
    return;
  }
  // The panel's module before the render with the passport: one render, with the panel.
  await panel.catch(() => null);
  const v = verifyInput(input);
  if (scan && isVerdict(v)) {
    scan.verdict = v;
    store.putScan(scan).catch(() => {});
    emit('session');
  }
  if (state.current?.input === input && isVerdict(v)) showVerdict(input, v, scan ?? state.current.scan);
  if (v?.passport) {
    metrics.passportShown ??= performance.now();
    metrics.passportVerifyMs ??= metrics.lastVerifyMs;
  }
  metrics.passportDone = performance.now();
}
