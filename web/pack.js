// The inspector's offline pack (`POST /v1/pack`): the listed batteries' passports and
// attestations with the trust and status lists and the public documents. The lists are accepted
// by the wasm verifier as in a sync, the chains are kept in IndexedDB and verified at every use
// (never trusted because they were stored), each document only when its bytes match its digest.

import { checkDocument } from './pkg/cellproof_wasm.js';
import * as store from './store.js';
import { t, tc } from './i18n.js';
import { state, emit } from './state.js';
import { obj, b64uBytes, packItems } from './format.js';
import { $ } from './dom.js';
import { sync, queued, buildVerifier } from './sync.js';

/** Fetches and stores the pack of the batteries listed in the pack box. */
export async function syncPack() {
  const items = packItems($('pack-items').value);
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
    const docs = packDocuments(pack, checkDocument);
    state.pack = { passports, missing: Array.isArray(pack.missing) ? pack.missing : [], at: syncedAt, size: text.length, ...docs };
    await store.put('pack', state.pack);
    msg.textContent = `${t('pack_done', { n: Object.keys(passports).length, kb: (text.length / 1000).toFixed(1), missing: state.pack.missing.length })} ${t('pack_docs', { d: Object.keys(docs.documents).length, o: docs.documentsOmitted.length, r: docs.documentsRefused.length })}`;
    msg.dataset.documents = String(Object.keys(docs.documents).length);
    emit('synced');
    emit('verdict-stale');
  } catch (e) {
    msg.textContent = t('pack_failed', { why: e.code ? tc(e.code) : tc('network') });
  }
}

/** The pack's public documents (`documents`: digest to `{mediaType, data}`), each kept only
 * when its bytes match its digest (`check`: the binding's `checkDocument`); the others are named
 * as refused. Documents the registry left out for the pack's size bound, or does not hold, are
 * named too. */
export function packDocuments(pack, check) {
  const documents = {};
  const documentsRefused = [];
  for (const [digest, doc] of Object.entries(obj(pack.documents))) {
    const bytes = /^[A-Za-z0-9_-]{43}$/.test(digest) ? b64uBytes(doc?.data) : null;
    if (bytes && check(bytes, digest)?.ok) {
      documents[digest] = { mediaType: String(doc.mediaType ?? 'application/octet-stream'), bytes };
    } else {
      documentsRefused.push(digest);
    }
  }
  const list = (l) => (Array.isArray(l) ? l.filter((d) => typeof d === 'string') : []);
  return { documents, documentsRefused, documentsOmitted: list(pack.documentsOmitted), documentsMissing: list(pack.documentsMissing) };
}
