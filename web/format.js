// Pure helpers of the page: age wording, the data-age line, fingerprints, the pack's item
// paths, attestation wording. Which text is a label is the core's answer (the verdict's
// `label`, SPEC.md 2.1), never a regex here. No DOM, no network, no wasm: tests/web-unit runs
// them under `node --test`. Words come from i18n.js in the current language.

import { t, tc, lang } from './i18n.js';

/** "5 min old" wording of an age in seconds. */
export function fmtAge(secs) {
  const s = Number(secs);
  if (s < 120) return t('age_s', { n: Math.round(s) });
  if (s < 2 * 3600) return t('age_m', { n: Math.round(s / 60) });
  if (s < 2 * 86400) return t('age_h', { n: Math.round(s / 3600) });
  return t('age_d', { n: Math.round(s / 86400) });
}

/** "5 min old" for the oldest list of a kind, flagged when any is stale. */
export function ageOf(ages, kind) {
  const list = ages.filter((a) => a.kind === kind);
  if (!list.length) return { text: t('none'), stale: false };
  const oldest = list.reduce((a, b) => (Number(b.age) > Number(a.age) ? b : a));
  const stale = list.some((a) => a.stale);
  return { text: fmtAge(oldest.age) + (stale ? ` — ${t('stale_flag')}` : ''), stale };
}

/** The data-age line of `ages` (the lists a verdict used, or all held): trust and status. */
export function dataAgeText(ages) {
  if (!ages?.length) return { text: t('data_none'), stale: true };
  const tr = ageOf(ages, 'trust_list');
  const st = ageOf(ages, 'status_list');
  return { text: t('data_age', { trust: tr.text, status: st.text }), stale: tr.stale || st.stale };
}

/** A number with its unit in the current language, or null when it is not a number. */
export function num(n, unit) {
  if (typeof n !== 'number') return null;
  return `${n.toLocaleString(lang())} ${unit}`;
}

/** A Unix time (seconds) as a long date in the current language, '' when not a number. */
export function longDate(secs) {
  const n = Number(secs);
  const d = new Date(n * 1000);
  return Number.isFinite(n) && !Number.isNaN(d.getTime())
    ? d.toLocaleDateString(lang(), { year: 'numeric', month: 'long', day: 'numeric' }) : '';
}

/** A file name stamp: the time without `:` and `.`. */
export function stamp(now = new Date()) {
  return now.toISOString().replace(/[:.]/g, '-');
}

/** `x` when it is a plain object, else `{}`. */
export function obj(x) {
  return x && typeof x === 'object' && !Array.isArray(x) ? x : {};
}

/** Bytes of unpadded base64url, or null. */
export function b64uBytes(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  try {
    return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** The first 64 bits of an RFC 7638 thumbprint as four hex groups, short enough to compare by
 * eye; '' for anything that is not a 43-character base64url thumbprint. */
export function shortFingerprint(tp) {
  const bytes = typeof tp === 'string' && tp.length === 43 ? b64uBytes(tp) : null;
  if (!bytes) return '';
  const hex = [...bytes.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g).join(' ');
}

/** A comparable text of a set of roots: ecosystems and keys, in order. */
export function rootsKey(rs) {
  return JSON.stringify([...rs].sort((a, b) => String(a.eco).localeCompare(String(b.eco))).map((r) => [r.eco, r.root?.x]));
}

/** The roots a `/v1/roots` answer offers. */
export function offeredRoots(rootsDoc) {
  return Array.isArray(rootsDoc?.roots) ? rootsDoc.roots.filter((r) => r?.eco && r?.root) : [];
}

/** `01/{gtin}/21/{serial}` from a line: a label URL, a Digital Link path, or GTIN and serial. */
export function itemPath(line) {
  const m = /(?:^|\/)01\/(\d{14})\/21\/([^/#?\s]+)/.exec(String(line).trim());
  return m ? `01/${m[1]}/21/${m[2]}` : null;
}

/** The items of the offline pack's text box: one path per label, URL or path, each once. */
export function packItems(text) {
  return [...new Set(String(text).split(/[\r\n,]+/).map(itemPath).filter(Boolean))];
}

/** The registry path of a battery's passport chain (`GET /v1/passports/{gtin}/{serial}`,
 * SPEC.md section 6.2) from the verdict's claims, or null. */
export function passportPath(claims) {
  const serial = claims?.sub?.split('/21/')[1];
  return claims?.gtin && serial ? `/v1/passports/${claims.gtin}/${serial}` : null;
}

const ECO_NAMES = { 'catena-x': 'Catena-X', ouranos: 'Ouranos' };
export const ecoName = (e) => ECO_NAMES[e] ?? e;
export const MATERIALS = { Co: 'cobalt', Li: 'lithium', Ni: 'nickel', Pb: 'lead', graphite: 'graphite' };
const TOPICS = {
  'sourcing.due-diligence': 'topic_sourcing', 'content.recycled': 'topic_recycled',
  'emissions.carbon-footprint': 'topic_carbon', 'conformity.declaration': 'topic_conformity',
};

/** One attestation result in words (SPEC.md sections 3.3 and 7): `{topic, line, icon}`:
 * verified (by whom, in which data space, recognised by whom, until when), declared by the
 * manufacturer only, not checked, or failed (why). Icon and word, never colour alone. */
export function claimWords(a) {
  const mats = (a.materials ?? []).map((m) => t(`mat_${MATERIALS[m] ?? 'other'}`, { m })).join(', ');
  const topic = t(TOPICS[a.topic] ?? 'topic_other', { topic: a.topic }) + (mats ? ` (${mats})` : '');
  let line;
  if (a.outcome === 'verified') {
    const rec = /, recognised by (.+)$/.exec(a.path ?? '')?.[1];
    line = [t('claim_verified'), `${t('certified_by')} ${a.issuerName ?? a.issuer ?? ''}`,
      a.eco ? `${t('data_space')} ${ecoName(a.eco)}` : null,
      rec ? `${t('recognised_by')} ${ecoName(rec)}` : null,
      a.validUntil != null ? `${t('valid_until')} ${longDate(a.validUntil)}` : null].filter(Boolean).join(', ');
  } else if (a.outcome === 'declared') {
    line = t('claim_declared');
  } else if (a.outcome === 'not_checked') {
    line = `${t('claim_not_checked')}: ${a.code ? tc(a.code) : t('att_not_held')}`;
  } else {
    line = `${t('claim_failed')}: ${tc(a.code ?? 'attestation_failed')}${a.issuerName ? ` (${a.issuerName})` : ''}`;
  }
  const icon = { verified: '✓', declared: '•', not_checked: '?', failed: '✗' }[a.outcome] ?? '?';
  return { topic, line, icon };
}

/** Short mark for a table cell: icon and word. */
export function claimMark(a) {
  if (!a) return `• ${t('claim_declared_short')}`;
  return { verified: `✓ ${t('claim_verified')}`, declared: `• ${t('claim_declared_short')}`,
    not_checked: `? ${t('claim_not_checked')}`, failed: `✗ ${t('claim_failed')}` }[a.outcome] ?? '?';
}

/** The session row's "3/4 verified" counts over the listed attestations, or null. */
export function attestationCounts(v) {
  const listed = (v.attestations ?? []).filter((x) => x.outcome !== 'declared');
  if (!listed.length) return null;
  return { verified: listed.filter((x) => x.outcome === 'verified').length, listed: listed.length };
}
