// The passport panel (SPEC.md sections 3 and 7): identity, performance, carbon footprint,
// materials, provenance, documents, other claims, and for inspectors the chain with its
// digests. Loaded by verdict-view.js after the first verdict (a dynamic import): a label's
// verdict never waits for it. Documents open only after their digest matched in wasm.

import { checkDocument } from './pkg/cellproof_wasm.js';
import { t, tc, tcat, lang } from './i18n.js';
import { state } from './state.js';
import { obj, num, claimWords, MATERIALS } from './format.js';
import { el, fact } from './dom.js';
import { recycledTable } from './verdict-view.js';

/** One attestation result, in words (format.js `claimWords`). */
function claim(a) {
  const { topic, line, icon } = claimWords(a);
  return el('div', { class: 'claim', 'data-testid': 'attestation', 'data-topic': a.topic ?? '',
    'data-materials': (a.materials ?? []).join(','), 'data-outcome': a.outcome ?? '', 'data-code': a.code ?? '' },
  el('span', { class: 'claim-icon', 'aria-hidden': 'true', text: icon }),
  el('div', {}, el('strong', { text: topic }), ' ', el('span', { text: line })));
}

function section(title, testid, ...kids) {
  return el('section', { class: 'pp-section', 'data-testid': testid }, el('h4', { text: title }), ...kids);
}

/** The passport panel of a verdict with `passport`. Every attestation result is rendered
 * exactly once, in the section of its topic. */
export function passportPanel(v) {
  const p = v.passport;
  const s = obj(p.subject);
  const id = obj(s.identification);
  const ch = obj(s.characteristics);
  const mf = obj(s.manufacturing);
  const meta = obj(s.metadata);
  const atts = Array.isArray(v.attestations) ? v.attestations : [];
  const used = new Set();
  const take = (pred) => atts.filter((a, i) => !used.has(i) && pred(a) && used.add(i));
  const panel = el('section', { class: 'passport', 'data-testid': 'passport-panel', 'data-state': 'verified' },
    el('h3', { text: `${t('pp_title')} · ${t('pp_version', { n: p.version })}` }));
  if (atts.some((a) => a.outcome === 'failed')) {
    panel.append(el('p', { class: 'notice', role: 'alert', 'data-testid': 'attestation-notice', text: `⚠ ${tc('attestation_failed')}` }));
  }

  const idl = el('dl', { class: 'facts' });
  fact(idl, t('model'), id.model);
  fact(idl, t('category'), id.category ? tcat(id.category) : null);
  fact(idl, t('chemistry'), id.chemistry);
  fact(idl, t('manufacturer'), [v.issuer?.name, meta.economicOperatorId].filter(Boolean).join(', '));
  fact(idl, t('made'), [mf.place, mf.date].filter(Boolean).join(', '));
  fact(idl, t('passport_id'), meta.passportIdentifier);
  panel.append(section(t('sec_identity'), 'pp-identity', idl));

  const pdl = el('dl', { class: 'facts' });
  fact(pdl, t('capacity'), num(ch.ratedCapacityAh, 'Ah'));
  fact(pdl, t('energy'), num(ch.ratedEnergyKwh, 'kWh'));
  fact(pdl, t('voltage'), num(ch.nominalVoltageV, 'V'));
  fact(pdl, t('lifetime'), typeof ch.expectedLifetimeCycles === 'number' ? t('cycles', { n: ch.expectedLifetimeCycles.toLocaleString(lang()) }) : null);
  fact(pdl, t('mass'), num(ch.weightKg, 'kg'));
  panel.append(section(t('sec_performance'), 'pp-performance', pdl));

  const cf = Array.isArray(obj(s.sustainability).carbonFootprint) ? s.sustainability.carbonFootprint : [];
  const cdl = el('dl', { class: 'facts' });
  for (const f of cf.map(obj)) {
    fact(cdl, f.lifecycle ? `${t('carbon')} (${f.lifecycle})` : t('carbon'),
      `${typeof f.value === 'number' ? f.value.toLocaleString(lang()) : ''} ${f.unit ?? ''}${f.performanceClass ? `, ${t('carbon_class')} ${f.performanceClass}` : ''}`);
  }
  const cfClaims = take((a) => a.topic === 'emissions.carbon-footprint');
  if (cf.length || cfClaims.length) panel.append(section(t('sec_carbon'), 'pp-carbon', cdl, ...cfClaims.map(claim)));

  const active = obj(obj(s.materials).active);
  const rcClaims = take((a) => a.topic === 'content.recycled');
  const rc = {};
  for (const [sym, name] of Object.entries(MATERIALS)) {
    const m = obj(active[name]);
    if (typeof m.preConsumerShare === 'number' || typeof m.postConsumerShare === 'number') rc[sym] = [m.preConsumerShare ?? 0, m.postConsumerShare ?? 0];
  }
  if (Object.keys(rc).length || rcClaims.length) {
    const backing = (element) => rcClaims.find((a) => (a.materials ?? []).includes(element)) ?? null;
    panel.append(section(t('sec_materials'), 'pp-materials', recycledTable(rc, id.chemistry ?? v.claims?.bp?.chem, backing), ...rcClaims.map(claim)));
  }

  const prov = Array.isArray(s.materialsProvenance) ? s.materialsProvenance.map(obj) : [];
  const srcClaims = take((a) => a.topic === 'sourcing.due-diligence');
  if (prov.length || srcClaims.length) {
    const list = el('ul', { class: 'provenance' });
    const placed = new Set();
    for (const m of prov) {
      const li = el('li', { 'data-testid': 'provenance', 'data-material': String(m.material ?? '') },
        el('strong', { text: t(`mat_${MATERIALS[m.material] ?? 'other'}`, { m: m.material }) }));
      const pdl2 = el('dl', { class: 'facts' });
      fact(pdl2, t('supplier'), m.supplier);
      fact(pdl2, t('facility'), m.facility);
      fact(pdl2, t('origin'), m.originCountry);
      li.append(pdl2);
      srcClaims.forEach((a, i) => {
        if (!placed.has(i) && (a.materials ?? []).includes(m.material)) { placed.add(i); li.append(claim(a)); }
      });
      list.append(li);
    }
    const rest = srcClaims.filter((_, i) => !placed.has(i)).map(claim);
    panel.append(section(t('sec_provenance'), 'pp-provenance', list, ...rest));
  }

  const conf = obj(s.conformity);
  const links = [...cf.map((f) => f.declaration), conf.declarationOfConformity, ...(Array.isArray(conf.documents) ? conf.documents : [])]
    .map(obj).filter((l) => typeof l.hashDigest === 'string');
  const confClaims = take((a) => a.topic === 'conformity.declaration');
  if (links.length || confClaims.length) {
    panel.append(section(t('sec_documents'), 'pp-documents', el('ul', { class: 'documents' }, ...links.map(documentRow)), ...confClaims.map(claim)));
  }
  const other = take(() => true);
  if (other.length) panel.append(section(t('sec_other'), 'pp-other', ...other.map(claim)));
  panel.append(chainDetails(p, atts));
  return panel;
}

/** Inspector: every version's SHA-256 and each attestation's digest. */
function chainDetails(p, atts) {
  const versions = el('ol', { class: 'digests' }, ...(p.digests ?? []).map((d, i) =>
    el('li', { 'data-testid': 'version-digest' }, `${t('pp_version', { n: i + 1 })}: `, el('code', { text: d }))));
  const ad = el('ul', { class: 'digests' }, ...atts.filter((a) => a.digest).map((a) =>
    el('li', { 'data-testid': 'attestation-digest' }, `${a.topic}${a.materials?.length ? ` (${a.materials.join(', ')})` : ''}: `, el('code', { text: a.digest }))));
  return el('details', { class: 'chain', 'data-testid': 'chain-details' }, el('summary', { text: t('sec_chain') }),
    el('p', { text: t('chain_versions') }), versions, el('p', { text: t('chain_attestations') }), ad);
}

// Documents open as blobs of this page's origin: only types a browser shows inertly, so a
// matching document can never run script here (anything else is offered as a download).
const SAFE_TYPES = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/webp', 'text/plain']);

/** One document link (SPEC.md section 3.2): fetched from this page's registry by digest and
 * opened only after the digest matched in wasm; a mismatch is said, and nothing is opened. */
function documentRow(link) {
  const status = el('span', { class: 'doc-status' });
  const btn = el('button', { type: 'button', 'data-testid': 'document-check', text: t('doc_open') });
  const li = el('li', { 'data-testid': 'document', 'data-digest': link.hashDigest, 'data-state': 'idle' },
    el('strong', { text: String(link.linkName ?? link.name ?? link.hashDigest) }), ' ', btn, ' ', status);
  btn.addEventListener('click', () => openDocument(link, li, status));
  return li;
}

async function openDocument(link, li, status) {
  li.dataset.state = 'checking';
  status.textContent = t('doc_checking');
  if (!/^[A-Za-z0-9_-]{43}$/.test(link.hashDigest)) {
    li.dataset.state = 'mismatch';
    status.textContent = `✗ ${tc('document_digest_mismatch')}`;
    return;
  }
  // Offline (or when the registry cannot give it), the offline pack's copy, checked again.
  const packed = state.pack?.documents?.[link.hashDigest];
  try {
    let bytes = null;
    if (!packed || navigator.onLine) {
      try {
        const res = await fetch(`/v1/documents/${link.hashDigest}`);
        if (!res.ok) throw new Error(String(res.status));
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        if (!packed) throw e;
      }
    }
    const fromPack = !bytes;
    if (fromPack) bytes = packed.bytes instanceof Uint8Array ? packed.bytes : new Uint8Array(packed.bytes ?? []);
    li.dataset.source = fromPack ? 'pack' : 'registry';
    const r = checkDocument(bytes, link.hashDigest);
    if (!r?.ok) {
      li.dataset.state = 'mismatch';
      li.dataset.code = r?.code ?? 'document_digest_mismatch';
      status.textContent = `✗ ${tc(li.dataset.code)}`;
      return;
    }
    const type = SAFE_TYPES.has(link.mediaType) ? link.mediaType : 'application/octet-stream';
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    li.dataset.state = 'verified';
    const a = el('a', { href: url, target: '_blank', rel: 'noopener', 'data-testid': 'document-open', text: `✓ ${t('doc_verified')}` });
    if (type === 'application/octet-stream') a.setAttribute('download', link.hashDigest);
    status.replaceChildren(a);
    if (fromPack) {
      status.append(' ', el('span', { 'data-testid': 'document-from-pack',
        text: t('doc_from_pack', { when: new Date(state.pack.at).toLocaleString(lang()) }) }));
    }
  } catch {
    li.dataset.state = 'unavailable';
    status.textContent = `? ${t('doc_unavailable')}`;
  }
}
