// Inspector mode (SPEC.md sections 6.3 and 6.4), loaded by app.js only when the user enters it,
// so a consumer's first visit never downloads it (tests/browser/weight.test.mjs).
//
// - The inspector's key is made on this device: WebCrypto Ed25519 with a non-extractable
//   private key where the browser has it, else 32 random bytes that only the wasm core signs
//   with, kept in IndexedDB sealed (AES-GCM) under a second, non-extractable WebCrypto key, so
//   the stored record never holds the secret as readable bytes. The page shows the public JWK and
//   its RFC 7638 thumbprint for enrolment, and who the key belongs to once a held trust list
//   names it.
// - Restricted data: a `registry-request+jwt` (`op: "read"`) signed here, `POST /v1/restricted`,
//   every returned section verified in wasm against the battery's verified passport before it
//   is shown. Sections live in this module's memory only: never IndexedDB, never the service
//   worker's cache, never a pack, gone on reload.
// - Sealing: an inspection report signed here, offline, exported as one file with its evidence.
//
// The inspector's wasm module (`crates/wasm-inspect`, loaded here only) composes every JWS
// (`jwsSigningInput`, `jwsAssemble`, `deviceKeySign`, reports) and does every check; this file
// only moves bytes and renders.

import initInspect, * as wasm from '/pkg/cellproof_inspect.js';
import { checkDocument, jwkThumbprint } from '/pkg/cellproof_wasm.js';
import { addStrings } from '/i18n.js';
import { inspectorStrings } from '/inspector-i18n.js';

addStrings(inspectorStrings);

let app = null; // what app.js hands over: state, store, t, tc, el, $, ...
let active = false;
const mem = {
  key: null, // the IndexedDB record: {kind: 'webcrypto', privateKey, jwk, kid} or {kind: 'wasm', wrapKey, iv, sealed, jwk, kid}
  holder: null, // the trust-list entity naming the key (Verifier.entityByKey)
  restricted: new Map(), // Digital Link path -> {tier, at, checks}: this tab's memory only
  photos: new Map(), // Digital Link path -> [{digest, mediaType, size}]
  thumbprint: null,
};


const KEY_RECORD = 'inspectorKey';

/** Enters inspector mode: key, identity, panel; `ctx` is app.js's toolbox. */
export async function enter(ctx) {
  app = ctx;
  await initInspect();
  active = true;
  if (!document.getElementById('inspector-style')) {
    // A stylesheet file: the page's CSP (`style-src 'self'`) refuses inline styles.
    document.head.append(Object.assign(document.createElement('link'), { id: 'inspector-style', rel: 'stylesheet', href: '/inspector.css' }));
  }
  document.body.classList.add('inspector-mode');
  mem.key = await migrateRawSecret((await app.store.get(KEY_RECORD).catch(() => null)) ?? null);
  mem.thumbprint = mem.key ? await thumbprint(mem.key.jwk) : null;
  await app.store.put('inspectorMode', true).catch(() => {});
  render();
}

export async function leave() {
  active = false;
  mem.restricted.clear();
  document.body.classList.remove('inspector-mode');
  document.getElementById('inspector-panel')?.remove();
  await app.store.del('inspectorMode').catch(() => {});
}

export function isActive() {
  return active;
}

/** Re-renders the panel (after a sync, a pack, a language change). */
export function refresh() {
  if (active) render();
}

let held = null; // {at, inspector}: the inspector module's copy of the page's verified lists

/** The inspector module's handle over the lists the page's verifier holds now (pinned roots
 * and `held()`, verified again on the way in), rebuilt when the page synced since. */
function core() {
  const at = `${app.state.syncedAt}:${app.state.pack?.at ?? ''}:${JSON.stringify(app.state.roots ?? [])}`;
  if (held?.at !== at) {
    held?.inspector.free();
    held = { at, inspector: new wasm.Inspector(JSON.stringify(app.state.roots ?? []), JSON.stringify(app.state.verifier.held())) };
  }
  return held.inspector;
}

// ---------- the device key ----------

async function webCryptoEd25519() {
  try {
    const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return pair?.privateKey?.type === 'private' ? pair : null;
  } catch {
    return null;
  }
}

/** Makes the device's key once: WebCrypto where the browser has Ed25519 (the private key is
 * created non-extractable, so not even this page can read it), else the wasm core's. */
export async function makeKey() {
  if (mem.key) return mem.key;
  const pair = await webCryptoEd25519();
  let rec;
  if (pair) {
    const pub = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: pub.x };
    const kid = await thumbprint(jwk);
    rec = { kind: 'webcrypto', privateKey: pair.privateKey, publicKey: pair.publicKey, jwk: { ...jwk, kid }, kid, created: Date.now() };
  } else {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    try {
      const x = JSON.parse(wasm.deviceKeyPublic(secret, 'k')).x;
      const jwk = { kty: 'OKP', crv: 'Ed25519', x };
      const kid = await thumbprint(jwk);
      rec = { kind: 'wasm', ...(await sealSecret(secret, x)), jwk: { ...jwk, kid }, kid, created: Date.now() };
    } finally {
      secret.fill(0);
    }
  }
  await app.store.put(KEY_RECORD, rec);
  mem.key = rec;
  mem.thumbprint = rec.kid;
  render();
  return rec;
}

/**
 * The wasm key's secret at rest: AES-GCM (256-bit, 96-bit random IV) under a key WebCrypto makes
 * non-extractable, stored in IndexedDB as the CryptoKey object itself (structured clone keeps it
 * non-extractable): a script or a copy of the origin's storage reads only ciphertext, and the
 * wrapping key's bytes are not readable at all, not even by this page. The public key `x` is the
 * additional data, so a sealed secret moved under another record's public key does not open.
 */
async function sealSecret(secret, x) {
  const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(x) }, wrapKey, secret));
  return { wrapKey, iv, sealed };
}

/** Runs `use(secret)` with the wasm key's secret opened for this call only, then zeroes it. */
async function withSecret(rec, use) {
  const secret = new Uint8Array(await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: rec.iv, additionalData: new TextEncoder().encode(rec.jwk.x) }, rec.wrapKey, rec.sealed));
  try {
    return await use(secret);
  } finally {
    secret.fill(0);
  }
}

/** A wasm key stored raw by an earlier version of this page (`{kind: 'wasm', secret}`) is sealed
 * on load and stored again without the raw bytes; the key, its JWK and kid stay the same, so an
 * enrolled inspector stays enrolled. */
async function migrateRawSecret(rec) {
  if (rec?.kind !== 'wasm' || !(rec.secret instanceof Uint8Array)) return rec;
  const { secret, ...rest } = rec;
  const x = JSON.parse(wasm.deviceKeyPublic(secret, 'k')).x;
  // A record whose secret is not its JWK's key is no key of this device's: left as it is.
  if (x !== rec.jwk?.x) return rec;
  const sealed = { ...rest, ...(await sealSecret(secret, x)) };
  secret.fill(0);
  // Stored without the raw bytes; should the write fail, the raw record is sealed again next time.
  await app.store.put(KEY_RECORD, sealed).catch((e) => console.error(e));
  return sealed;
}

/** RFC 7638 thumbprint of an OKP key: the core's `jwk_thumbprint` through the binding. */
async function thumbprint(jwk) {
  return jwkThumbprint(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })) ?? null;
}

/** The entity a held trust list names for this key, or null. */
function holder() {
  if (!mem.key || !app.state.verifier) return null;
  return core().entityByKey(mem.key.jwk.x) ?? null;
}

function enrolled(h = holder()) {
  return h != null && h.roles.includes('inspector');
}

/** Signs `payload` as a compact JWS of `typ` with the device key (kid as enrolled). */
async function signJws(typ, payload) {
  const key = mem.key;
  const h = holder();
  const kid = h?.kid ?? key.kid;
  const json = JSON.stringify(payload);
  if (key.kind === 'webcrypto') {
    const input = wasm.jwsSigningInput(typ, kid, json);
    if (!input) throw Object.assign(new Error('request_invalid'), { code: 'request_invalid' });
    const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, new TextEncoder().encode(input)));
    return wasm.jwsAssemble(input, sig);
  }
  const jws = await withSecret(key, (secret) => wasm.deviceKeySign(secret, typ, kid, json));
  if (!jws) throw Object.assign(new Error('request_invalid'), { code: 'request_invalid' });
  return jws;
}

/** A `registry-request+jwt` for this registry (`aud`: the page's origin, which serves the API). */
async function request(op, members) {
  const h = holder();
  const payload = {
    iss: h.id, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID(), aud: location.origin, op, ...members,
  };
  return signJws('registry-request+jwt', payload);
}

// ---------- panel ----------

function render() {
  const { el, t } = app;
  let panel = document.getElementById('inspector-panel');
  if (!panel) {
    panel = el('section', { id: 'inspector-panel', class: 'card inspector-panel', 'data-testid': 'inspector-panel' });
    document.querySelector('main').prepend(panel);
  }
  document.querySelector('.bar h1')?.setAttribute('data-mode', t('insp_title'));
  const h = holder();
  mem.holder = h;
  const kids = [el('h2', { text: t('insp_title') })];
  const who = el('p', { class: 'who', 'data-testid': 'inspector-who', 'data-enrolled': enrolled(h) ? '1' : '0' });
  if (!mem.key) who.textContent = t('insp_no_key');
  else if (enrolled(h)) who.textContent = t('insp_who', { name: h.name, id: h.id });
  else if (h) who.textContent = t('insp_wrong_role', { name: h.name });
  else who.textContent = t('insp_not_enrolled');
  kids.push(who);
  if (enrolled(h)) {
    kids.push(el('p', { 'data-testid': 'inspector-authority', text: t('insp_authority', { iss: h.listIssuer, eco: h.eco, seq: h.seq }) }));
  }
  kids.push(el('p', { 'data-testid': 'inspector-data-age', text: dataLine() }));
  if (!mem.key) {
    const b = el('button', { type: 'button', 'data-testid': 'inspector-make-key', text: t('insp_make_key') });
    b.addEventListener('click', () => makeKey().catch((e) => console.error(e)));
    kids.push(b);
  } else {
    kids.push(el('details', { 'data-testid': 'inspector-key', 'data-kind': mem.key.kind, ...(enrolled(h) ? {} : { open: '' }) },
      el('summary', { text: t('insp_key') }),
      el('p', { text: t(mem.key.kind === 'webcrypto' ? 'insp_key_webcrypto' : 'insp_key_wasm') }),
      el('p', {}, `${t('insp_thumbprint')}: `, el('code', { 'data-testid': 'inspector-thumbprint', text: mem.thumbprint ?? '' })),
      el('p', { text: t('insp_copy_jwk') }),
      el('pre', { 'data-testid': 'inspector-jwk', text: JSON.stringify(mem.key.jwk) })));
  }
  const fromSession = el('button', { type: 'button', 'data-testid': 'inspector-pack-from-session', text: t('insp_pack_from_session') });
  fromSession.addEventListener('click', packFromSession);
  const leaveBtn = el('button', { type: 'button', 'data-testid': 'inspector-leave', text: t('insp_leave') });
  leaveBtn.addEventListener('click', () => leave().then(() => app.onLeave?.()));
  kids.push(el('div', { class: 'row' }, fromSession, leaveBtn));
  panel.replaceChildren(...kids);
}

function dataLine() {
  const { t, state, fmtAge } = app;
  const when = state.syncedAt ? new Date(state.syncedAt).toLocaleString(app.lang()) : t('never');
  const p = state.pack;
  const pack = p?.at
    ? t('insp_pack', { n: Object.keys(p.passports ?? {}).length, kb: ((p.size ?? 0) / 1000).toFixed(1),
      when: new Date(p.at).toLocaleString(app.lang()), age: fmtAge((Date.now() - p.at) / 1000) })
    : t('insp_pack_none');
  return `${t('insp_data', { when })} ${pack}`;
}

/** Fills the pack list with the batteries scanned in this session (labels scanned first,
 * pack fetched next, inspection offline after). */
function packFromSession() {
  const paths = [...new Set(app.state.session.map((s) => s.verdict?.claims?.sub ?? s.verdict?.scanned?.path).filter(Boolean))];
  const box = document.getElementById('pack-items');
  const have = new Set(box.value.split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean));
  box.value = [...have, ...paths.filter((p) => !have.has(p))].join('\n');
  document.querySelector('[data-testid="pack-panel"]').open = true;
}

// ---------- per verdict ----------

/** What inspector mode adds under a verdict: where the passport came from and how old it is,
 * restricted data, a photo, and "Seal inspection". */
export function verdictExtras(input, v, scan) {
  const { el, t } = app;
  const box = el('div', { class: 'inspector-extras', 'data-testid': 'inspector-extras' });
  const sub = v.claims?.sub;
  if (!sub) return box;
  box.append(el('p', { 'data-testid': 'verdict-source', 'data-source': sourceOf(sub), text: sourceText(sub) }));
  box.append(restrictedBlock(input, v));
  box.append(photoBlock(sub));
  box.append(sealBlock(input, v, scan));
  return box;
}

function sourceOf(sub) {
  if (app.state.chains.has(sub)) return 'registry';
  if (app.state.pack?.passports?.[sub]) return 'pack';
  return 'none';
}

function sourceText(sub) {
  const { t, state, fmtAge } = app;
  const src = sourceOf(sub);
  if (src === 'pack') {
    return t('insp_from_pack', { when: new Date(state.pack.at).toLocaleString(app.lang()), age: fmtAge((Date.now() - state.pack.at) / 1000) });
  }
  if (src === 'registry') return t('insp_from_registry');
  return '';
}

function restrictedBlock(input, v) {
  const { el, t } = app;
  const sub = v.claims.sub;
  const out = el('div', { class: 'restricted', 'data-testid': 'restricted' });
  const tier = el('select', { 'data-testid': 'restricted-tier' },
    el('option', { value: 'authority', text: t('tier_authority') }),
    el('option', { value: 'legitimate-interest', text: t('tier_legitimate-interest') }));
  const btn = el('button', { type: 'button', 'data-testid': 'restricted-read', text: t('insp_read') });
  const status = el('p', { role: 'status', 'data-testid': 'restricted-status' });
  const list = el('div', { 'data-testid': 'restricted-sections' });
  const held = mem.restricted.get(sub);
  if (held) {
    tier.value = held.tier;
    showSections(list, held.checks);
    status.textContent = t('insp_memory_only');
  }
  btn.addEventListener('click', () => readRestricted(v, tier.value, status, list).catch((e) => {
    status.dataset.code = e.code ?? 'network';
    status.textContent = t('insp_read_failed', { why: app.tc(e.code ?? 'network') });
  }));
  out.append(el('h3', { text: t('insp_restricted') }),
    el('div', { class: 'row' }, el('label', {}, `${t('insp_tier')} `, tier), btn), status, list);
  return out;
}

/** The current passport version's compact JWS, from the chain the verdict was made with. */
function currentPassport(sub) {
  const text = app.state.chains.get(sub) ?? (app.state.pack?.passports?.[sub] ? JSON.stringify(app.state.pack.passports[sub]) : null);
  try {
    const versions = JSON.parse(text)?.versions;
    return Array.isArray(versions) && versions.length ? versions[versions.length - 1] : null;
  } catch {
    return null;
  }
}

async function readRestricted(v, tier, status, list) {
  const { t } = app;
  const sub = v.claims.sub;
  status.dataset.code = '';
  list.replaceChildren();
  if (!mem.key || !enrolled()) { status.textContent = t('insp_need_enrol'); status.dataset.code = 'role_missing'; return; }
  if (!navigator.onLine) { status.textContent = t('insp_read_offline'); return; }
  const passport = currentPassport(sub);
  if (!v.passport || !passport) { status.textContent = t('insp_read_needs_passport'); return; }
  status.textContent = t('insp_reading');
  const jws = await request('read', { item: sub, tier });
  const res = await fetch('/v1/restricted', {
    method: 'POST', cache: 'no-store', headers: { 'Content-Type': 'application/jwt', Accept: 'application/json' }, body: jws,
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const code = body?.code ?? String(body?.type ?? '').split('/').pop() ?? `http_${res.status}`;
    throw Object.assign(new Error(code), { code });
  }
  const sections = Array.isArray(body?.sections) ? body.sections.map((s) => (typeof s === 'string' ? s : s?.jws)).filter((s) => typeof s === 'string') : [];
  if (!sections.length) { status.textContent = t('insp_read_none'); return; }
  // Verified against the passport the label was verified with, by the core; never shown before.
  const checks = core().verifyRestricted(sections, passport, app.nowSecs());
  mem.restricted.set(sub, { tier, at: Date.now(), checks });
  status.textContent = t('insp_memory_only');
  showSections(list, checks);
}

function showSections(list, checks) {
  const { el, t, tc } = app;
  list.replaceChildren(...checks.map((c) => {
    if (!c.ok) {
      return el('div', { 'data-testid': 'restricted-section', 'data-ok': '0', 'data-code': c.code ?? '' },
        el('p', { text: t('insp_section_bad', { why: tc(c.code) }) }));
    }
    const s = c.section;
    return el('div', { 'data-testid': 'restricted-section', 'data-ok': '1', 'data-tier': s.tier, 'data-digest': s.digest },
      el('p', { text: `✓ ${t('insp_section_ok', { issuer: s.issuer, eco: s.eco, tier: t(`tier_${s.tier}`) })}` }),
      el('pre', { text: JSON.stringify(s.subject, null, 2) }));
  }));
}

function photoBlock(sub) {
  const { el, t } = app;
  const input = el('input', { type: 'file', accept: 'image/*', capture: 'environment', 'data-testid': 'photo-input' });
  const note = el('small', { 'data-testid': 'photo-status' });
  const show = () => {
    const n = (mem.photos.get(sub) ?? []).length;
    note.textContent = n ? t('insp_photos', { n }) : '';
    note.dataset.count = String(n);
  };
  show();
  input.addEventListener('change', async () => {
    for (const f of input.files ?? []) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const digest = checkDocument(bytes, '').digest; // base64url SHA-256, computed by the core
      const list = mem.photos.get(sub) ?? [];
      if (!list.some((p) => p.digest === digest)) list.push({ digest, mediaType: f.type || 'image/jpeg', size: bytes.length, bytes });
      mem.photos.set(sub, list);
    }
    show();
  });
  return el('label', { class: 'photo' }, `${t('insp_photo')} `, input, ' ', note);
}

function sealBlock(input, v, scan) {
  const { el, t } = app;
  const btn = el('button', { type: 'button', 'data-testid': 'seal', text: t('insp_seal') });
  const upload = el('input', { type: 'checkbox', 'data-testid': 'seal-upload' });
  const status = el('p', { role: 'status', 'data-testid': 'seal-status' });
  btn.addEventListener('click', () => seal(input, v, scan, upload.checked, status).catch((e) => {
    status.dataset.code = e.code ?? 'seal_failed';
    status.textContent = t('insp_seal_failed', { why: app.tc(e.code ?? String(e.message)) });
  }));
  return el('div', { class: 'seal' }, el('div', { class: 'row' }, btn,
    el('label', {}, upload, ` ${t('insp_upload')}`)), status);
}

/** The session's clone hints of a scan, as the report records them (a hint, never a verdict). */
const HINT_MESSAGES = {
  label_again: 'the same credential was scanned again after other labels in this session: it may be on a second physical label',
  two_in_frame: 'the same credential was seen on two labels in one camera frame',
  serial_twice: 'this serial number was seen with another credential in this session',
};

function reportHints(scan) {
  return (scan?.hints ?? []).filter((h) => HINT_MESSAGES[h])
    .map((h) => ({ code: 'possible_copied_label', message: `possible copied label: ${HINT_MESSAGES[h]}` }));
}

/**
 * Seals the inspection of the verdict on screen (SPEC.md section 6.4), offline: the core
 * verifies the scan again with the same chain, records the verdict and the digest of every
 * artifact it used, the session's hints and the photos' digests; the device key signs; the
 * report and its evidence pack are exported as one file (`docs/inspection.md`). Uploading to
 * the registry is optional and needs the network.
 */
async function seal(input, v, scan, upload, status) {
  const { t } = app;
  const h = holder();
  if (!mem.key || !enrolled(h)) throw Object.assign(new Error('role_missing'), { code: 'role_missing' });
  status.textContent = t('insp_sealing');
  status.dataset.code = '';
  const sub = v.claims?.sub;
  const chain = sub ? (app.state.chains.get(sub) ?? (app.state.pack?.passports?.[sub] ? JSON.stringify(app.state.pack.passports[sub]) : null)) : null;
  const draft = core().draftReport(input, app.nowSecs(), chain, h.id, h.kid ?? mem.key.kid, JSON.stringify(reportHints(scan)));
  let sealed;
  try {
    for (const p of (sub && mem.photos.get(sub)) || []) draft.addPhoto(p.mediaType, p.bytes);
    if (mem.key.kind === 'webcrypto') {
      const signingInput = draft.signingInput();
      const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, mem.key.privateKey, new TextEncoder().encode(signingInput)));
      sealed = draft.assemble(sig, JSON.stringify(mem.key.jwk));
    } else {
      sealed = await withSecret(mem.key, (secret) => draft.sealWithSecret(secret));
    }
  } finally {
    draft.free();
  }
  const item = sub ? sub.replace(/^01\//, '').replace('/21/', '-') : 'scan';
  app.download(`cellproof-inspection-${item}-${app.stamp()}.json`, 'application/json', sealed.file);
  status.dataset.digest = sealed.digest;
  status.dataset.evidence = String(sealed.evidence);
  status.textContent = t('insp_sealed', { kb: (sealed.file.length / 1000).toFixed(1) });
  if (!upload) return;
  try {
    if (!navigator.onLine) throw Object.assign(new Error('network'), { code: 'network' });
    const res = await fetch('/v1/reports', { method: 'POST', cache: 'no-store', headers: { 'Content-Type': 'application/vc+jwt', Accept: 'application/json' }, body: sealed.report });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw Object.assign(new Error('upload'), { code: body?.code ?? `http_${res.status}` });
    status.dataset.uploaded = '1';
    status.textContent += ` ${t('insp_uploaded')}`;
  } catch (e) {
    status.dataset.uploaded = '0';
    status.textContent += ` ${t('insp_upload_failed', { why: app.tc(e.code ?? 'network') })}`;
  }
}
