// Online resolution of a label without an embedded credential (SPEC.md 1.2 section 2.2): a
// plain GS1 Digital Link asks its own resolver, an element string the page's resolvers
// (`RESOLVERS`), and the passport found there is verified in wasm as the verdict's credential.
// The core decides where to ask (`resolvePlan`), which links of a linkset count
// (`passportLinks`) and what the fetched passport is worth (`verifyResolved`); this module only
// moves bytes, within the limits of 2.2, and renders. Imported (dynamic `import()`) only when a
// verdict is `no_embedded_credential` and the page is online: a first visit never loads it, nor
// the resolution module it imports (`crates/wasm-resolve`, `/pkg/cellproof_resolve.js`), which
// holds its own copy of the page's verified lists (pinned roots and the verifier's `held()`,
// verified again on the way in), as the inspector's module does.
//
// Requests go straight to the resolver (never through a proxy that would learn which battery was
// scanned), without cookies or credentials, without a referrer, with only CORS-safelisted
// headers (`Accept`), and never into a cache (`cache: 'no-store'`; the service worker leaves
// them alone too). The fragment of a URL is never sent (browsers do not send it).

import initResolve, * as wasm from '/pkg/cellproof_resolve.js';
import * as store from './store.js';
import { t } from './i18n.js';
import { state, metrics, nowSecs, isVerdict, emit } from './state.js';
import { compactChain } from './sync.js';
import { $ } from './dom.js';
import { showVerdict } from './verdict-view.js';

let held = null; // {at, resolver}: the resolution module's copy of the page's verified lists
let ready = null;

/** The resolution module's handle over the lists the page's verifier holds now, rebuilt when
 * the page synced since. */
async function core() {
  ready ??= initResolve();
  await ready;
  return heldResolver();
}

/** The handle, once the module is initialised (synchronous). */
function heldResolver() {
  const at = `${state.syncedAt}:${state.pack?.at ?? ''}:${JSON.stringify(state.roots ?? [])}`;
  if (held?.at !== at) {
    held?.resolver.free();
    held = { at, resolver: new wasm.Resolver(JSON.stringify(state.roots ?? []), JSON.stringify(state.verifier.held())) };
    // Status lists the page holds only in the compact form (docs/status-sync.md): the passport's
    // own credentialStatus is checked against them as the label's status is.
    for (const body of compactChain(state.verifier)) held.resolver.loadCompact(new Uint8Array(body));
  }
  return held.resolver;
}

/** A label resolved before, verified again with what the page holds now (after a sync): the
 * verdict, or null when the module is not ready. `fetched` is what `resolve` remembered. */
export function verifyAgain(input, fetched) {
  if (!held && !ready) return null;
  try {
    const v = heldResolver().verifyResolved(input, nowSecs(), fetched);
    return isVerdict(v) ? v : null;
  } catch {
    return null;
  }
}

/** Where an element string (which names no resolver) is resolved, in order: the registry that
 * served this page, then GS1's global resolver (SPEC.md 2.2, "a page's default"). */
export const resolvers = () => [location.origin, 'https://id.gs1.org'];

/** The limits of SPEC.md 2.2, the core's (`resolution_limit` when broken; a request that gets
 * no answer in time is `resolver_unreachable`): `{requestMs, totalMs, body, chain, did}`, read
 * from the resolution module once it is loaded. */
let LIMITS = null;

const ACCEPT = {
  linkset: 'application/linkset+json',
  passport: 'application/vc+jwt, application/vc+ld+json',
  chain: 'application/json',
  did: 'application/did+json, application/json',
};


class Failed extends Error {
  constructor(code, url, detail) {
    super(detail);
    this.code = code;
    this.url = url;
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http to loopback when this page itself was served from loopback (development and
 * the browser tests; SPEC.md 2.2 allows it). */
export function allowedUrl(url, page = location) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && LOOPBACK.has(u.hostname) && LOOPBACK.has(new URL(page.href).hostname);
}

/** One GET within the limits: the scheme of the URL asked and of the URL answered (after the
 * browser followed redirects), the time left, the body streamed up to `cap` bytes. Returns
 * `{url, body}` (the URL that answered); throws `Failed`. */
async function get(url, kind, cap, deadline) {
  if (!allowedUrl(url)) throw new Failed('resolution_limit', url, `${url} is neither https nor loopback`);
  const left = deadline - Date.now();
  if (left <= 0) throw new Failed('resolution_limit', url, 'the resolution took more than 30 s in all');
  const ctl = new AbortController();
  let why = null;
  const timer = setTimeout(() => {
    why = left < LIMITS.requestMs ? 'total' : 'request';
    ctl.abort();
  }, Math.min(LIMITS.requestMs, left));
  try {
    let res;
    try {
      res = await fetch(url, {
        method: 'GET',
        mode: 'cors',
        credentials: 'omit',
        redirect: 'follow',
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
        headers: { Accept: ACCEPT[kind] },
        signal: ctl.signal,
      });
    } catch {
      throw failure(why, url, 'no answer (network, TLS, CORS or timeout)');
    }
    const answered = res.url || url;
    if (!allowedUrl(answered)) throw new Failed('resolution_limit', answered, `redirected to ${answered}, neither https nor loopback`);
    if (res.status === 404) throw new Failed('passport_not_linked', answered, `${answered} answered 404`);
    if (!res.ok) throw new Failed('resolver_unreachable', answered, `${answered} answered ${res.status}`);
    const body = await capped(res, cap, answered).catch((e) => {
      throw e instanceof Failed ? e : failure(why, answered, 'the answer broke off');
    });
    return { url: answered, body };
  } finally {
    clearTimeout(timer);
  }
}

function failure(why, url, detail) {
  if (why === 'total') return new Failed('resolution_limit', url, 'the resolution took more than 30 s in all');
  if (why === 'request') return new Failed('resolver_unreachable', url, `${url} gave no answer within 10 s`);
  return new Failed('resolver_unreachable', url, `${url}: ${detail}`);
}

/** The body as text, read as a stream and refused past `cap` bytes (never read in part). */
async function capped(res, cap, url) {
  const tooLarge = () => new Failed('resolution_limit', url, `${url} answered more than ${cap} bytes`);
  if (Number(res.headers.get('content-length')) > cap) {
    res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > cap) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** One place to ask: a linkset (then the chain, else the passport, it links to) or, for a UNTP
 * link, the credential itself. Returns the `Fetched` value for `verifyResolved`. */
async function ask(verifier, input, a, deadline) {
  if (!a.linkset) {
    const r = await get(a.url, 'passport', LIMITS.body, deadline);
    return { kind: 'passport', url: r.url, body: r.body };
  }
  const ls = await get(a.url, 'linkset', LIMITS.body, deadline);
  const links = verifier.passportLinks(ls.body, input, ls.url);
  if (links?.error) throw new Failed(links.error.code, ls.url, links.error.message);
  // The chain first: it carries the versions and the attestations; the passport alone when the
  // chain is not linked or not to be had.
  let first = null;
  for (const [kind, url, cap] of [['chain', links.chain, LIMITS.chain], ['passport', links.passport, LIMITS.body]]) {
    if (!url) continue;
    try {
      const r = await get(url, kind, cap, deadline);
      return { kind, url: r.url, body: r.body };
    } catch (e) {
      if (!(e instanceof Failed) || !verifier.askNext(e.code)) throw e;
      first ??= e;
    }
  }
  throw first ?? new Failed('passport_not_linked', ls.url, `${ls.url} links no passport for this battery`);
}

/** The host a URL names, for "Checking online at {host}". */
const hostOf = (url) => {
  try {
    return new URL(url).host;
  } catch {
    return String(url);
  }
};

/** The verdict box while the page asks `url`: no verdict yet, where it asks. */
function checking(input, url) {
  if (state.current?.input !== input) return;
  const box = $('verdict');
  box.dataset.overall = '';
  box.dataset.code = '';
  box.dataset.resolving = hostOf(url);
  $('verdict-title').textContent = t('resolving_title');
  $('verdict-sub').textContent = t('resolving', { host: hostOf(url) });
  $('verdict-why').textContent = '';
}

/** What `resolve` found for each input, kept for the page's session (verify.js's `verifyInput`
 * verifies it again after a sync, with the status data held then). */
export function remember(input, fetched) {
  state.resolved.set(input, JSON.stringify(fetched));
}

/**
 * Resolves the label `input` online and shows the verdict about the passport found, in the
 * session row `scan` (one record written, like a scan's) when given. Asks each place of the
 * core's plan in order until one answers with a passport; whether a failure lets the next
 * place be asked (`askNext`) and which failure the verdict reports when every place failed
 * (`decidingFailure`) are the core's, as for the CLI.
 */
export async function resolve(input, scan = null) {
  const verifier = await core();
  LIMITS ??= verifier.limits();
  const plan = verifier.resolvePlan(input, JSON.stringify(resolvers()));
  if (!Array.isArray(plan) || plan.length === 0) return null;
  const t0 = performance.now();
  const deadline = Date.now() + LIMITS.totalMs;
  let fetched = null;
  const failures = [];
  for (const a of plan) {
    checking(input, a.url);
    try {
      fetched = await ask(verifier, input, a, deadline);
      break;
    } catch (e) {
      const f = e instanceof Failed ? e : new Failed('resolver_unreachable', a.url, String(e?.message ?? e));
      failures.push(f);
      if (!verifier.askNext(f.code)) break;
    }
  }
  if (!fetched) {
    // The core decides which failure the verdict reports, as for the CLI.
    const f = failures[verifier.decidingFailure(JSON.stringify(failures.map((x) => x.code)))] ?? failures.at(-1);
    fetched = { kind: 'failed', url: f.url, code: f.code, detail: failures.map((x) => x.message).join('; ') };
  }
  let v = verifier.verifyResolved(input, nowSecs(), JSON.stringify(fetched));
  // An issuer no trust list names, by a did:web DID (SPEC.md 2.2): its DID document checks the
  // signature (the verdict stays unverifiable `issuer_unknown`, never valid); a document that
  // cannot be had is the empty text, which the core calls `did_unresolvable`.
  const didUrl = v?.issuerDid && verifier.didWebUrl(v.issuerDid, LOOPBACK.has(location.hostname));
  if (didUrl && fetched.kind !== 'failed') {
    checking(input, didUrl);
    fetched.didDocument = await get(didUrl, 'did', LIMITS.did, deadline).then((r) => r.body, () => '');
    v = verifier.verifyResolved(input, nowSecs(), JSON.stringify(fetched));
  }
  remember(input, fetched);
  metrics.verifications += 1;
  metrics.lastResolveMs = performance.now() - t0;
  if (!isVerdict(v)) return null;
  if (scan) {
    scan.verdict = v;
    store.putScan(scan).catch(() => {});
    emit('session');
  }
  if (state.current?.input === input) {
    delete $('verdict').dataset.resolving;
    showVerdict(input, v, scan ?? state.current.scan);
  }
  return v;
}
