// Translations of the page (English, German, Japanese) and of every stable code in
// docs/error-codes.md. Interfaces translate codes, never the core's English messages
// (SPEC.md section 8). tests/browser/i18n.test.mjs fails when a documented code lacks a
// translation in any language.

export const LANGS = ['en', 'de', 'ja'];

const ui = {
  // German and Japanese: web/i18n-de.js and web/i18n-ja.js, loaded by loadLang.
  en: {
    title: 'Battery passport check',
    tagline: 'Checks the signed passport on a battery label, on this device.',
    valid: 'Genuine', invalid: 'Not genuine', unverifiable: 'Cannot verify',
    valid_sub: 'Signed by a recognised issuer and not revoked.',
    invalid_sub: 'This label failed a check. Do not trust the data it shows.',
    unverifiable_sub: 'This device lacks current data to decide. Treat as not confirmed.',
    label_only_sub: 'This label names a product but carries no credential this device can check. Treat as not confirmed.',
    label_read: 'Label reads',
    resolving_title: 'Checking online', resolving: 'Checking online at {host}…', resolved_from: 'Passport from', signed_by: 'Signed by', did_unlisted: '{did}, whom none of your trust lists names',
    why: 'Why', issuer: 'Issued by', trust_path: 'Trust path', recognised_by: 'recognised by',
    battery: 'Battery', category: 'Category', chemistry: 'Chemistry', mass: 'Mass', energy: 'Energy',
    capacity: 'Capacity', made: 'Manufactured', place: 'Place', carbon: 'Carbon footprint',
    carbon_class: 'class', recycled: 'Recycled content', recycled_note: 'pre + post consumer, beside the EU minimum shares (information only)',
    min2031: 'min. 2031', min2036: 'min. 2036', rc_element: 'Material', status: 'Status', passport: 'Full passport',
    open_passport: 'Open the full passport', gtin: 'GTIN', serial: 'Serial', manufacturer_id: 'Manufacturer ID',
    status_ok_revocation: 'not revoked', status_ok_suspension: 'not suspended', status_ok_refresh: 'no newer passport', status_revoked: 'revoked', status_suspended: 'suspended',
    status_superseded: 'superseded: a newer passport exists', status_unknown: 'unknown (no list)',
    status_stale: 'stale (old list)', status_not_checked: 'not checked',
    purpose_revocation: 'Revocation', purpose_suspension: 'Suspension', purpose_refresh: 'Newer passport', purpose_lifecycle: 'Life after first use', status_ceased: 'recycled: the passport has ended',
    life_original: 'original', life_repurposed: 'repurposed', life_reused: 'reused or repaired', life_remanufactured: 'remanufactured', life_waste: 'declared waste', life_recycled: 'recycled',
    life_line: 'This battery was {status}{date}.', life_on: ' on {date}', life_successor: 'It now has a new passport:', life_responsible: 'Responsibility: {name} ({role}).',
    made_from: 'Made from', lineage_verified: 'verified, passport by {name}', lineage_not_checked: 'not checked (its passport is not at hand)', lineage_failed_entry: 'not verified:',
    role_producer: 'the producer', role_pro: 'producer responsibility organisation', 'role_waste-operator': 'waste operator',
    data_age: 'Data used: trust lists {trust}, status lists {status}.', data_none: 'No trust data on this device yet.',
    age_s: '{n} s old', age_m: '{n} min old', age_h: '{n} h old', age_d: '{n} days old',
    stale_flag: 'STALE', none: 'none',
    scan: 'Scan', start_camera: 'Start camera', stop_camera: 'Stop camera', torch: 'Torch', lens: 'Lens', zoom: 'Zoom',
    manual: 'Scanner or paste', manual_hint: 'A handheld scanner types here; Enter checks. You can also paste one or more codes.',
    check: 'Check', session: 'Session', session_empty: 'No scans yet.', export_csv: 'Export CSV', export_json: 'Export JSON', clear: 'Clear',
    sync: 'Sync trust data', syncing: 'Syncing…', synced: 'Synced: {n} trust lists, {m} status lists.',
    sync_failed: 'Sync failed: {why}. Keeping the data already on this device.', offline: 'Offline',
    online: 'Online', install: 'Install app', last_sync: 'Last sync: {when}', never: 'never',
    cam_denied: 'Camera permission was denied. Allow the camera in the browser settings for this site, then try again.',
    cam_none: 'No camera was found. Use a handheld scanner or paste the code instead.',
    cam_busy: 'The camera is in use by another app or tab. Close it and try again.',
    cam_insecure: 'The camera needs a secure (https) page. Open this page over https.',
    cam_other: 'The camera could not be started.',
    roots_warning_title: 'The registry\'s root keys changed',
    roots_changed_since: 'Since {when} the registry reports other root keys than the ones pinned on this device. The pinned keys are still used. Ask the registry\'s operator whether the change is genuine before trusting the new keys.',
    roots_offered: 'Keys the registry reports now:', roots_keep: 'Keep the pinned keys', roots_accept: 'Trust the new keys',
    roots_pinned: 'Pinned root keys (SHA-256 fingerprints)', roots_none: 'None yet: the first sync pins the registry\'s roots.',
    unreadable: 'Cannot read this code', unreadable_sub: 'This code holds data this page cannot show. Treat it as not confirmed.',
    seen_again: 'Scanned before in this session ({n} times, first at {first}). The same label on two batteries means one of them is a copy.',
    seen_count: 'seen {n} times, last at {last}', not_applicable: 'n/a (no lead)',
    hint_label_again: 'Possible copied label: this credential was scanned again after other labels, so it may be on a second battery. A hint, not a verdict: check the battery.',
    hint_two_in_frame: 'Possible copied label: the camera saw this credential on two labels at once. A hint, not a verdict: check both batteries.',
    hint_serial_twice: 'Possible copied label: this serial number was seen with another credential in this session. A hint, not a verdict: check both labels.',
    hint_label_again_short: 'possible copied label (seen again after other labels)', hint_two_in_frame_short: 'possible copied label (two labels in one frame)',
    hint_serial_twice_short: 'possible copied label (serial seen with another credential)', hint_resolver_unlisted_short: 'label points to a site its maker does not list',
    insp_enter: 'Inspector mode',
    roots_changed: 'The registry now reports different root keys than the ones pinned on this device. The pinned keys are kept.',
    col_time: 'Time', col_result: 'Result', col_code: 'Code', col_item: 'Battery', col_issuer: 'Issuer',
    language: 'Language', duplicate: 'Already in the session',
    decode_error: 'This image could not be read.',
    // Passport panel (SPEC.md sections 3 and 7) and the inspector's pack.
    pp_title: 'Battery passport', pp_version: 'version {n}', pp_loading: 'Checking the full passport…',
    pp_none: 'The registry holds no full passport for this battery; only the label was checked.',
    pp_unavailable: 'The full passport was not checked (offline and not in a synced pack); only the label was checked.',
    model: 'Model', manufacturer: 'Manufacturer', passport_id: 'Passport ID',
    sec_identity: 'Identity', sec_performance: 'Performance', sec_carbon: 'Carbon footprint',
    sec_materials: 'Materials and recycled content', sec_provenance: 'Where the raw materials came from',
    sec_documents: 'Documents', sec_other: 'Other claims', sec_chain: 'Passport chain and digests (for inspectors)',
    chain_versions: 'Versions, oldest first (SHA-256 of each signed version):', chain_attestations: 'Certificates (SHA-256):',
    voltage: 'Nominal voltage', lifetime: 'Expected lifetime', cycles: '{n} cycles',
    supplier: 'Supplier', facility: 'Facility', origin: 'Country of origin',
    mat_cobalt: 'Cobalt', mat_lithium: 'Lithium', mat_nickel: 'Nickel', mat_lead: 'Lead', mat_graphite: 'Graphite', mat_other: '{m}',
    topic_sourcing: 'Responsible sourcing', topic_recycled: 'Recycled content', topic_carbon: 'Carbon footprint',
    topic_conformity: 'EU declaration of conformity', topic_other: '{topic}',
    claim_verified: 'Verified', claim_declared: 'Declared by the manufacturer only: no certificate backs this claim.',
    claim_declared_short: 'Declared', claim_not_checked: 'Not checked', claim_failed: 'Not verified',
    certified_by: 'certified by', data_space: 'data space', valid_until: 'valid until',
    att_not_held: 'the certificate is not on this device', backed_by: 'Backed by',
    doc_open: 'Check and open', doc_checking: 'Checking the document…', doc_verified: 'Digest matches: open the document',
    doc_unavailable: 'The registry does not have this document.', att_count: '{v}/{n} certificates verified',
    pack_title: 'Passports for offline inspection', pack_label: 'Batteries to take offline, one per line (label URL or 01/GTIN/21/serial)',
    pack_sync: 'Fetch pack', pack_none: 'Name at least one battery.',
    pack_done: 'Pack kept on this device: {n} passports, {kb} kB, {missing} not held by the registry.',
    pack_failed: 'Pack failed: {why}. Keeping the data already on this device.',
    pack_docs: 'Documents: {d} kept, {o} left out (pack size bound), {r} refused (digest mismatch).',
    doc_from_pack: 'Opened from the offline pack fetched {when}.',
  },
  de: {},
  ja: {},
};

// One sentence per stable code: what went wrong, in the user's words.
const codes = {
  en: {
    input_too_large: 'The scanned code is larger than any battery label allows.',
    url_invalid: 'The code is not a web address a battery label would carry.',
    no_embedded_credential: 'This label carries no signature of its own: it names a battery but cannot be checked offline. Check it online.',
    resolver_unreachable: 'The passport could not be fetched online: the resolver did not answer. This battery is not checked.',
    resolution_limit: 'Checking online stopped at a safety limit (an insecure link, too many redirects, too much data or too long). This battery is not checked.',
    linkset_invalid: 'The resolver answered with something that is not a valid list of links. This battery is not checked.',
    event_invalid: 'A record of this battery\'s later life is not valid (malformed, or missing what it must name).',
    lifecycle_conflict: 'A record of this battery\'s later life was made on an out-of-date status.',
    lifecycle_transition_forbidden: 'This change of the battery\'s life is not allowed (nothing follows recycling, and only the listed roles may record it).',
    did_unresolvable: 'The passport names its issuer by a web address (did:web) whose key document could not be read. This battery is not checked.',
    untp_decrypt_failed: 'The passport behind this UNTP link could not be decrypted with the key the link carries. This battery is not checked.',
    untp_hash_mismatch: 'The passport behind this UNTP link is not the one the link commits to. Do not trust it.',
    passport_not_linked: 'The resolver knows no passport for this battery. It cannot be checked.',
    item_not_serialised: 'This label names a product model or a lot, not one battery: it cannot prove that this battery is genuine.',
    element_string_invalid: 'The scanned GS1 code is malformed (it must start with the product number, AI 01).',
    untp_link_invalid: 'The UNTP verification link is malformed.',
    qr_decoder_crashed: 'The code reader stopped on this image. Try another photo.',
    qr_decoder_timeout: 'Reading the code took too long and was stopped. Try a sharper photo.',
    qr_decoder_unavailable: 'The code reader could not be started.',
    digital_link_invalid: 'The address does not name a battery (GS1 Digital Link).',
    gtin_invalid: 'The product number (GTIN) is wrong: its check digit does not match.',
    serial_invalid: 'The serial number in the address is malformed.',
    fragment_not_numeric: 'The signed data in the code is garbled.',
    jws_malformed: 'The code does not contain a signed credential.',
    base64url_invalid: 'The signed data in the code is garbled (encoding).',
    inflate_failed: 'The compressed passport data is damaged.',
    inflate_too_large: 'The compressed passport data is implausibly large.',
    json_not_utf8: 'The passport data is not valid text.',
    json_invalid: 'The passport data is malformed.',
    json_duplicate_member: 'The passport data contains a field twice, which is not allowed.',
    json_not_object: 'The passport data has the wrong shape.',
    claim_invalid: 'A required passport field is missing or wrong.',
    alg_unsupported: 'The signature uses a method that is not accepted.',
    typ_unexpected: 'The signed data is not a battery credential.',
    kid_missing: 'The signature does not say which key made it.',
    header_forbidden: 'The signature carries a header that is not allowed.',
    zip_unsupported: 'The data uses a compression that is not allowed here.',
    signature_invalid: 'The signature does not match: the label was altered or forged.',
    key_invalid: 'A key in the trust data is not a valid signing key.',
    issuer_unknown: 'The issuer is not in any trust list this device accepts.',
    key_unknown: 'The issuer no longer lists the key that signed this label.',
    issuer_ambiguous: 'Several trusted data spaces list this issuer with the same key, so it cannot be told which one vouches for it.',
    gtin_not_issuer: 'The issuer signed for a product number that belongs to another company.',
    key_not_valid_at_iat: 'The label was signed outside the validity period of its key.',
    role_missing: 'The issuer is not allowed to issue battery passports.',
    recognition_scope: 'The issuer’s ecosystem is recognised, but not for this role.',
    recognition_expired: 'The recognition of the issuer’s ecosystem has ended.',
    trust_list_stale: 'The trust list on this device is out of date. Sync when online.',
    trust_list_rollback: 'An older trust list was offered and refused.',
    trust_list_untrusted: 'A trust list is signed by no pinned or recognised root.',
    sub_mismatch: 'The passport belongs to a different battery than this address: a copied label.',
    audience_mismatch: 'This request was signed for another registry and is refused here.',
    op_mismatch: 'This request was signed for another operation than the one it was sent to.',
    expired: 'The credential has expired.',
    not_yet_valid: 'The credential claims to be issued in the future.',
    revoked: 'The issuer has revoked this passport.',
    suspended: 'The issuer has suspended this passport.',
    superseded: 'A newer passport exists for this battery (repurposed or remanufactured).',
    predecessor_digest_mismatch: 'The original battery\'s passport does not match what this passport says it was made from.',
    predecessor_unconfirmed: 'The original battery\'s records never name this battery as made from it.',
    lineage_failed: 'One of the original batteries this battery says it was made from could not be verified.',
    passport_ceased: 'This battery was recycled and its passport has ended. A label still in circulation was copied or moved to another battery.',
    lifecycle_waste: 'This battery was declared waste: responsibility passed to its producer, a producer responsibility organisation or a waste operator.',
    status_unknown: 'This device has no status list for this battery. Sync when online.',
    status_stale: 'The status list on this device is out of date. Sync when online.',
    status_list_too_short: 'A status list is too short to protect privacy and was refused.',
    status_index_out_of_range: 'The status entry points past the end of its list.',
    status_list_rollback: 'An older status list was offered and refused.',
    status_list_untrusted: 'A status list is signed by no accepted status authority.',
    status_list_foreign: 'A status list was signed for another organisation’s batteries and was refused.',
    status_list_conflict: 'Two versions of a status list with the same date disagree; the second was refused.',
    status_delta_base: 'A status update did not match the lists held; the full lists are needed.',
    status_list_invalid: 'A status list is malformed.',
    digest_mismatch: 'The full passport does not match the label.',
    passport_invalid: 'The full passport is malformed.',
    passport_issuer_mismatch: 'The full passport was signed by someone other than the label’s maker.',
    passport_subject_mismatch: 'The full passport belongs to a different battery.',
    passport_chain_broken: 'The passport’s versions do not lead back to the one the label was printed with.',
    document_digest_mismatch: 'This document is not the one the passport points to and is not shown as the maker’s.',
    attestation_invalid: 'The certificate is malformed.',
    attestation_digest_mismatch: 'The certificate is not the one the passport lists.',
    attestation_subject_mismatch: 'The certificate is about someone or something the passport does not name for this claim.',
    attestation_topic_mismatch: 'The certificate does not cover this claim.',
    attestation_nonconformant: 'The certifier found this claim not conformant.',
    attestation_out_of_scope: 'The certifier is not accredited for this topic or material.',
    recognition_out_of_scope: 'The certifier’s data space is not recognised for this kind of certificate.',
    attestation_expired: 'The certificate is not valid at this time.',
    attestation_failed: 'Some claims of this passport could not be verified; they are marked below.',
    clock_floor: 'This device’s clock is behind data already checked; the newer time was used.',
    resolver_unlisted: 'This label sends people to a site its maker does not list. Someone may have stuck a copied label on this battery.',
    tier_forbidden: 'Your role may not read this tier of restricted data.',
    restricted_invalid: 'A restricted data section is malformed and is not shown.',
    restricted_issuer_mismatch: 'A restricted data section is not signed by the battery’s manufacturer and is not shown.',
    restricted_subject_mismatch: 'A restricted data section is about another battery and is not shown.',
    report_invalid: 'The inspection report is malformed.',
    report_subject_mismatch: 'The inspection report is about another battery than the label in its evidence.',
    report_artifact_missing: 'The inspection report names evidence that is not in the pack, so that part cannot be re-checked.',
    report_digest_mismatch: 'Evidence in the pack is not what the inspection report names: it was changed or swapped.',
    report_verdict_differs: 'Checked again from its evidence, the result differs from what the inspection report says.',
    evidence_pack_invalid: 'The evidence pack is malformed.',
    limit_exceeded: 'A list inside this artifact has more entries than the limit allows, so it is refused rather than read in part.',
    report_inspector_withdrawn: 'The inspector who signed this report is no longer enrolled in the newer trust list held here.',
    report_evidence_stale: 'A newer status list held here contradicts the report’s evidence: the battery was revoked or suspended since.',
    evidence_unnamed: 'The evidence pack holds data the report does not name; it was not used.',
    bundle_invalid: 'The registry’s data bundle is malformed.',
    empty_image: 'The image is empty.',
    buffer_size_mismatch: 'The image data has the wrong size.',
    image_too_large: 'The image is too large to scan.',
    network: 'the registry could not be reached',
  },
  de: {},
  ja: {},
};

const categories = {
  en: { ev: 'Electric vehicle battery', lmt: 'Light means of transport battery', industrial: 'Industrial battery', stationary: 'Stationary storage battery' },
  de: {},
  ja: {},
};

export const translations = { ui, codes, categories };

/** Where the other languages are: each a module of its own, fetched only for a page in that
 * language (or the language chosen), so that an English first visit stays small. */
const LOADERS = { de: () => import('./i18n-de.js'), ja: () => import('./i18n-ja.js') };
const loaded = new Set(['en']);

/** Loads a language's strings (once); English is always here. A language that cannot be
 * loaded (offline before it was ever fetched) leaves English in its place. */
export async function loadLang(l) {
  if (loaded.has(l) || !LOADERS[l]) return;
  const { default: m } = await LOADERS[l]();
  Object.assign(ui[l], m.ui);
  Object.assign(codes[l], m.codes);
  Object.assign(categories[l], m.categories);
  loaded.add(l);
}

/** Every language loaded: for tests that compare them. */
export async function loadAll() {
  await Promise.all(LANGS.map(loadLang));
  return translations;
}

let current = 'en';

/** Picks the language: the stored choice, else the first supported browser language. */
export function detectLang() {
  const stored = localStorage.getItem('cellproof.lang');
  if (LANGS.includes(stored)) return stored;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'en';
  document.documentElement.lang = current;
  localStorage.setItem('cellproof.lang', current);
}

export function lang() { return current; }

/** Adds UI strings of a module loaded later (inspector mode: web/inspector-i18n.js). */
export function addStrings(table) {
  for (const l of LANGS) Object.assign(ui[l], table[l] ?? {});
}

/** A UI string with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const s = ui[current][key] ?? ui.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

/** The sentence for a stable code; an unknown code is shown as itself, never as a message. */
export function tc(code) {
  return codes[current][code] ?? codes.en[code] ?? code;
}

export function tcat(cat) {
  return categories[current][cat] ?? cat;
}

/** Fills every element with `data-i18n="key"`. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  document.title = t('title');
}
