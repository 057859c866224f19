// The verdict box: overall answer, why, the data's age, the label's facts, status, recycled
// content beside the Art. 8 minimums (the core's rule through the binding: `recycledContent`),
// clone hints, and the passport panel. The panel (web/passport-panel.js) is loaded after the
// first verdict, never before it: a label's verdict does not need it (docs/web.md, "Weight").

import { recycledContent } from './pkg/cellproof_wasm.js';
import { t, tc, tcat, lang } from './i18n.js';
import { state, metrics, nowSecs, isVerdict } from './state.js';
import { dataAgeText, fmtAge, num, claimMark } from './format.js';
import { $, el, fact } from './dom.js';

let panel = null;
let panelLoading = null;

/** Loads the passport panel module once (a dynamic import); the verdict on screen is rendered
 * again with it when it carries a passport. */
export function loadPanel() {
  panelLoading ??= import('./passport-panel.js').then((m) => {
    panel = m;
    const c = state.current;
    if (c?.verdict?.passport) showVerdict(c.input, c.verdict, c.scan);
    return m;
  });
  return panelLoading;
}

/** The data-age line of a verdict: the lists it used; when it used none (the scan did not
 * decode), all held lists. */
export function verdictAge(verdict) {
  return dataAgeText(verdict?.data?.length ? verdict.data : state.verifier?.ages(nowSecs()) ?? []);
}

export function showUnreadable() {
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

/** The core's codes of a label read but carrying no credential to check offline (SPEC.md 2.1),
 * or whose passport online resolution did not find (2.2). */
const LABEL_ONLY = new Set(['no_embedded_credential', 'item_not_serialised', 'resolver_unreachable', 'resolution_limit', 'linkset_invalid', 'passport_not_linked']);

export function showVerdict(input, v, scan = null) {
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
  delete box.dataset.resolving;
  $('verdict-title').textContent = t(v.overall);
  // A label without a credential (SPEC.md 2.1) is unverifiable for what it is, not for want of
  // current data: the generic "lacks current data" line would send the user to sync.
  $('verdict-sub').textContent = t(LABEL_ONLY.has(v.code) ? 'label_only_sub' : `${v.overall}_sub`);
  const why = [];
  if (v.code) why.push(tc(v.code));
  for (const n of v.notices) if (n !== v.code) why.push(tc(n));
  $('verdict-why').textContent = why.length ? `${t('why')}: ${why.join(' ')}` : '';
  const age = verdictAge(v);
  $('data-age').textContent = age.text;
  $('data-age').classList.toggle('stale', age.stale);
  $('data-age').dataset.stale = age.stale ? '1' : '';
  const box2 = $('verdict-details');
  box2.replaceChildren(details(v));
  if (scan?.seen > 1) {
    // A copied label is the same credential on a second battery: say so, prominently.
    box2.prepend(el('p', { class: 'again', 'data-testid': 'seen-again',
      text: t('seen_again', { n: scan.seen, first: new Date(scan.at).toLocaleTimeString(lang()) }) }));
  }
  for (const h of scan?.hints ?? []) {
    box2.prepend(el('p', { class: 'again', 'data-testid': 'clone-hint', 'data-hint': h, text: t(`hint_${h}`) }));
  }
  if (v.notices.includes('resolver_unlisted')) {
    // A label that sends people to a site its maker does not list (SPEC.md section 4).
    box2.prepend(el('p', { class: 'warning', role: 'alert', 'data-testid': 'resolver-warning', text: tc('resolver_unlisted') }));
  }
  if (state.inspector?.isActive()) box2.append(state.inspector.verdictExtras(input, v, scan));
  metrics.lastVerdict = performance.now();
  metrics.firstVerdict ??= metrics.lastVerdict; // tests/browser/weight.test.mjs
}

/** The battery's life after its first use (the verdict's `lifecycle`): what happened and when,
 * the successor passports to follow, who is responsible for a waste battery. */
function lifeLine(l) {
  if (!l || l.status === 'original') return null;
  const date = l.eventDate ? t('life_on', { date: new Date(l.eventDate).toLocaleDateString(lang()) }) : '';
  const p = el('p', { class: l.status === 'recycled' ? 'warning' : 'lifecycle', 'data-testid': 'lifecycle',
    'data-status': l.status, text: t('life_line', { status: t(`life_${l.status}`), date }) });
  if (l.successor?.length) {
    p.append(' ', t('life_successor'));
    for (const s of l.successor) p.append(' ', el('a', { href: s, 'data-testid': 'successor-link', text: s.split('/').slice(3).join('/') }));
  }
  const r = l.responsibleParty;
  if (r) p.append(' ', t('life_responsible', { name: r.name, role: t(`role_${r.role}`) }));
  return p;
}

/** A successor's originals (the verdict's `lineage`, SPEC.md 1.2 section 3.4), each with
 * whether its passport was verified under its own issuer. */
function lineageList(lineage) {
  const ul = el('ul', { class: 'lineage', 'data-testid': 'lineage' });
  for (const l of lineage) {
    const what = l.outcome === 'verified' ? t('lineage_verified', { name: l.issuerName ?? l.issuer ?? '' })
      : l.outcome === 'not_checked' ? t('lineage_not_checked') : `${t('lineage_failed_entry')} ${tc(l.code)}`;
    ul.append(el('li', { 'data-testid': 'lineage-entry', 'data-outcome': l.outcome, 'data-code': l.code ?? '',
      text: `${l.id.split('/').slice(3).join('/')}: ${what}` }));
  }
  const box = el('div', { class: 'lineage-box' });
  box.append(el('p', { text: `${t('made_from')}:` }), ul);
  return box;
}

function details(v) {
  const frag = document.createDocumentFragment();
  const dl = el('dl', { class: 'facts' });
  if (v.issuer) {
    const i = v.issuer;
    const path = i.recognizedBy ? `${i.eco}, ${t('recognised_by')} ${i.recognizedBy}` : i.eco;
    fact(dl, t('issuer'), `${i.name}${i.reg ? ` (${i.reg.scheme} ${i.reg.id})` : ''}`);
    fact(dl, t('trust_path'), path);
  } else if (v.issuerDid) {
    // A did:web issuer no accepted trust list names (SPEC.md 2.2): named, never vouched for.
    dl.append(el('dt', { text: t('signed_by') }),
      el('dd', { 'data-testid': 'issuer-did', text: t('did_unlisted', { did: v.issuerDid }) }));
  } else if (v.claims) {
    fact(dl, t('issuer'), v.claims.iss);
  }
  const src = v.source?.kind === 'resolved' && v.source.url;
  if (src) {
    // Resolved online (SPEC.md 2.2): where the passport came from.
    dl.append(el('dt', { text: t('resolved_from') }),
      el('dd', { 'data-testid': 'resolved-source', 'data-url': src, text: src.split('/')[2] ?? src }));
  }
  const c = v.claims;
  if (!c && v.label?.identifier) {
    // What the core read from a label without a credential (the verdict's `label`, SPEC.md
    // 2.1): the identifier as `sub` is written, never checked against any signature.
    dl.append(el('dt', { text: t('label_read') }),
      el('dd', { 'data-testid': 'label-identifier', 'data-form': v.label.form, text: v.label.identifier }));
  }
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
    // The lifecycle entry names the status its list holds (SPEC.md 1.2 section 3.4).
    const ok = s.purpose === 'lifecycle' ? (v.lifecycle ? `life_${v.lifecycle.status}` : 'status_unknown') : `status_ok_${s.purpose}`;
    fact(dl, `${t('status')}: ${t(`purpose_${s.purpose}`)}`,
      t(s.state === 'ok' ? ok : `status_${s.state}`) + (s.age != null ? ` (${fmtAge(s.age)})` : ''));
  }
  frag.append(dl);
  const life = lifeLine(v.lifecycle);
  if (life) frag.append(life);
  if (v.lineage?.length) frag.append(lineageList(v.lineage));
  if (v.passport && panel) {
    frag.append(panel.passportPanel(v));
  } else if (v.passport) {
    // Rendered again by loadPanel once the module is there (the passport path awaits it first,
    // so this is only a verdict shown before any chain was fetched, e.g. from the session list).
    frag.append(passportPlaceholder(v));
    loadPanel().catch(() => {});
  } else {
    if (c?.bp?.rc && typeof c.bp.rc === 'object') frag.append(recycledTable(c.bp.rc, c.bp.chem));
    if (c) frag.append(passportPlaceholder(v));
  }
  return frag;
}

/**
 * Recycled content beside the Art. 8 minimums (the core's `recycled_content`: the lead minimum
 * only for a battery whose chemistry names lead, so a listed Pb share on a lithium battery is
 * shown without a minimum, never a red cross, and a zero one not at all), with the attestation
 * that backs each share when the passport was verified (`backing`), or "declared".
 */
export function recycledTable(rc, chem, backing = null) {
  const table = el('table', { class: 'rc', 'data-testid': 'recycled' });
  table.append(el('caption', { text: `${t('recycled')} (%): ${t('recycled_note')}` }));
  table.append(el('tr', {}, el('th', { text: t('rc_element') }), el('th', { text: t('recycled') }), el('th', { text: t('min2031') }), el('th', { text: t('min2036') }),
    backing ? el('th', { text: t('backed_by') }) : null));
  for (const s of recycledContent(JSON.stringify(rc), typeof chem === 'string' ? chem : undefined)) {
    const min = (x, meets) => (s.applies ? `${meets ? '✓' : '✗'} ${x}` : t('not_applicable'));
    table.append(el('tr', { 'data-element': s.element }, el('th', { text: s.element }),
      el('td', { text: `${s.total.toLocaleString(lang(), { maximumFractionDigits: 1 })} (${rc[s.element].join(' + ')})` }),
      el('td', { text: min(s.min2031, s.meets2031) }),
      el('td', { text: min(s.min2036, s.meets2036) }),
      backing ? el('td', { class: 'mark-cell', text: claimMark(backing(s.element)) }) : null));
  }
  return table;
}

const stageOf = (v, stage) => v.stages.find((s) => s.stage === stage)?.outcome ?? null;

/** Where the passport stands when the verdict shows none: loading, not held, not reachable, or
 * refused (a passport-stage failure decides the verdict and is named in it). */
export function passportPlaceholder(v) {
  const sub = v.claims?.sub;
  const failed = stageOf(v, 'passport') === 'failed';
  const st = failed ? 'failed' : (v.passport ? 'loading' : state.passportState.get(sub) ?? (navigator.onLine ? 'loading' : 'unavailable'));
  const text = failed ? `✗ ${tc(v.code ?? 'passport_invalid')}` : t(`pp_${st}`);
  return el('section', { class: 'passport', 'data-testid': 'passport-panel', 'data-state': st },
    el('h3', { text: t('pp_title') }), el('p', { text }));
}
