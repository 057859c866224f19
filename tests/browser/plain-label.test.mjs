// Labels without an embedded credential (SPEC.md 1.2 sections 2.1 and 2.2, issue 17): a plain
// GS1 Digital Link opened by a phone's stock camera, a GS1 element string typed by a
// keyboard-wedge scanner or pasted, and a model-level link. Online the page resolves them
// (web/resolve.js): a Digital Link at its own resolver only, an element string at the page's
// resolvers in order (this registry, then GS1's), saying where it asks meanwhile; the passport
// found is the verdict's credential, with the passport panel and the place it came from.
// Offline, or for a label that names no single battery, the core's offline answer stands:
// unverifiable (`no_embedded_credential`, or `item_not_serialised` without AI 21), the sentence
// that the label carries no signature, the identifier read. Never "Not genuine" for the want of
// a credential, and never a passport panel for a label that names no single battery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { useServerAndBrowser, verdictOf, pageReady } from './support/env.mjs';

const env = useServerAndBrowser();

const GTIN = '04012345000016';
const SERIAL = 'CPPASSVALID000';
const ID = `01/${GTIN}/21/${SERIAL}`;
const ELEMENT = `(01)${GTIN}(21)${SERIAL}`;
const GS1 = 'https://id.gs1.org';

/** The demo's passport-valid battery as its plain link: the sample URL without the fragment. */
function plainLink() {
  const url = env.server.sample('passport-valid');
  assert.ok(url, 'the demo lists passport-valid');
  const link = url.split('#')[0];
  assert.equal(link, `${env.server.url}/${ID}`);
  return link;
}

const host = () => new URL(env.server.url).host;

/** What the verdict box shows: overall, code, text, the identifier read, the passport panel,
 * where the resolved passport came from. */
async function shown(page) {
  const v = await verdictOf(page);
  const source = page.getByTestId('resolved-source');
  return {
    ...v,
    identifier: await page.getByTestId('label-identifier').textContent({ timeout: 1_000 }).catch(() => null),
    panel: await page.getByTestId('passport-panel').count(),
    source: (await source.count()) ? { host: await source.textContent(), url: await source.getAttribute('data-url') } : null,
  };
}

function assertPlain(v, code) {
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, code);
  assert.doesNotMatch(v.text, /Not genuine/);
  assert.doesNotMatch(v.text, /Genuine/);
  assert.equal(v.source, null, 'not resolved');
}

/** A valid verdict about the resolved passport of passport-valid, from `from` (a host), with
 * the passport panel verified. */
async function assertResolvedValid(page, from) {
  const v = await shown(page);
  assert.equal(v.overall, 'valid', v.text);
  assert.equal(v.code, '');
  assert.match(v.text, /Genuine/);
  assert.ok(v.source, 'names where the passport came from');
  assert.equal(v.source.host, from);
  assert.match(v.text, new RegExp(`Passport from\\s*${from.replace(/[.]/g, '\\.')}`));
  // The passport's own status entries were checked against the lists the page holds (in the
  // compact form: handed to the resolution module too), not reported as missing.
  assert.doesNotMatch(v.text, /no list/, v.text);
  await page.waitForSelector('[data-testid="passport-panel"][data-state="verified"]', { timeout: 30_000 });
  return v;
}

const SENTENCE = /carries no signature of its own/;

/** Counts (and answers) requests to GS1's resolver: `answer(route)` or a 404. */
async function watchGs1(context, answer = null) {
  const seen = [];
  await context.route(`${GS1}/**`, async (route) => {
    seen.push({ url: route.request().url(), headers: await route.request().allHeaders() });
    if (answer) return answer(route);
    return route.fulfill({ status: 404, headers: { 'access-control-allow-origin': '*' }, body: '' });
  });
  return seen;
}

const isLinkset = (url) => new URL(url).searchParams.get('linkType') === 'linkset';

test('plain Digital Link opened by a stock camera, online: "checking online at" the registry, then its passport, valid', async () => {
  const link = plainLink();
  const context = await env.browser.newContext();
  // A cookie of the registry's origin: resolution requests carry no credentials.
  await context.addCookies([{ name: 'session', value: 'secret-cookie', url: env.server.url }]);
  const gs1 = await watchGs1(context);
  // The linkset request is held until the page has been seen saying where it asks.
  let release;
  const held = new Promise((r) => { release = r; });
  const asked = [];
  await context.route((url) => isLinkset(url.href), async (route) => {
    asked.push({ url: route.request().url(), headers: await route.request().allHeaders() });
    await held;
    await route.continue();
  });
  const page = await context.newPage();
  await page.goto(link);
  const checking = page.locator('[data-testid="verdict"][data-resolving]:not([data-resolving=""])');
  await checking.waitFor({ timeout: 30_000 });
  assert.equal(await checking.getAttribute('data-resolving'), host());
  assert.equal(await checking.getAttribute('data-overall'), '', 'no verdict while resolving');
  assert.match(await checking.textContent(), new RegExp(`Checking online at ${host().replace(/[.]/g, '\\.')}`));
  release();
  await assertResolvedValid(page, host());
  // Asked once, at the label's own URL with linkType=linkset, as RFC 9264 asks, no cookie,
  // no referrer; GS1 never (the label names its resolver).
  assert.equal(asked.length, 1);
  assert.equal(asked[0].url, `${link}?linkType=linkset`);
  assert.equal(asked[0].headers.accept, 'application/linkset+json');
  assert.equal(asked[0].headers.cookie, undefined);
  assert.equal(asked[0].headers.referer, undefined);
  assert.deepEqual(gs1, []);
  await pageReady(page);
  // The service worker stored none of the resolution's answers.
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cached = await page.evaluate(async () => {
    const keys = [];
    for (const name of await caches.keys()) {
      for (const r of await (await caches.open(name)).keys()) keys.push(r.url);
    }
    return keys;
  });
  assert.ok(cached.length > 0);
  assert.deepEqual(cached.filter((u) => /linkType|\/01\/|\/v1\//.test(u)), []);
  await context.close();
});

test('element string typed, then pasted: resolved at the page\'s registry, valid, in the session', async () => {
  const context = await env.browser.newContext();
  const gs1 = await watchGs1(context);
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
  await input.fill(ELEMENT);
  await input.press('Enter');
  const v = await assertResolvedValid(page, host());
  assert.equal(v.source.url, `${env.server.url}/v1/passports/${GTIN}/${SERIAL}`, 'the chain link of the linkset');
  // The session row holds the resolved verdict, and so does its stored record.
  const row = page.getByTestId('scan-row').first();
  await page.waitForSelector('[data-testid="scan-row"][data-overall="valid"]');
  assert.match(await row.textContent(), /Genuine/);
  const stored = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('cellproof');
    req.onsuccess = () => {
      const get = req.result.transaction('scans').objectStore('scans').getAll();
      get.onsuccess = () => resolve(get.result.map((s) => ({ input: s.input, overall: s.verdict.overall, source: s.verdict.source })));
      get.onerror = () => reject(get.error);
    };
    req.onerror = () => reject(req.error);
  }));
  const rec = stored.find((s) => s.input === ELEMENT);
  assert.equal(rec?.overall, 'valid', JSON.stringify(stored));
  assert.equal(rec.source.kind, 'resolved');
  assert.deepEqual(gs1, [], 'the first resolver answered: GS1 not asked');
  // Pasted with its line end: checked, and resolved, at once.
  await page.evaluate((text) => {
    document.getElementById('verdict').dataset.overall = '';
    const dt = new DataTransfer();
    dt.setData('text/plain', `${text}\n`);
    document.getElementById('manual').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, ELEMENT);
  await assertResolvedValid(page, host());
  await context.close();
});

test('a plain link to a battery the registry does not hold: passport_not_linked, asked there only', async () => {
  const context = await env.browser.newContext();
  const gs1 = await watchGs1(context);
  const page = await context.newPage();
  await page.goto(`${env.server.url}/01/${GTIN}/21/NOTHELD42`);
  const v = await shown(page);
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, 'passport_not_linked');
  assert.match(v.text, /knows no passport for this battery/);
  assert.doesNotMatch(v.text, /Genuine/);
  assert.equal(v.identifier, `01/${GTIN}/21/NOTHELD42`);
  assert.equal(v.source, null, 'no passport: no source');
  assert.equal(v.panel, 0);
  assert.deepEqual(gs1, [], 'a label that names its resolver is asked there only');
  await context.close();
});

test('an element string the registry does not hold: asked at the registry, then at GS1', async () => {
  const context = await env.browser.newContext();
  const gs1 = await watchGs1(context);
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
  await input.fill(`(01)${GTIN}(21)NOTHELD42`);
  await input.press('Enter');
  const v = await shown(page);
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, 'passport_not_linked');
  // GS1's resolver second, with the Digital Link path, linkType=linkset, only safelisted
  // headers: the page's CSP lets it through (connect-src https:), and nothing else was sent.
  assert.equal(gs1.length, 1, JSON.stringify(gs1));
  assert.equal(gs1[0].url, `${GS1}/01/${GTIN}/21/NOTHELD42?linkType=linkset`);
  assert.equal(gs1[0].headers.accept, 'application/linkset+json');
  assert.equal(gs1[0].headers.cookie, undefined);
  assert.equal(gs1[0].headers.authorization, undefined);
  await context.close();
});

test('the registry unreachable: GS1\'s resolver answers, across origins, and the chain it links is verified', async () => {
  const chain = await (await fetch(`${env.server.url}/v1/passports/${GTIN}/${SERIAL}`)).text();
  assert.ok(JSON.parse(chain).versions.length >= 2);
  const context = await env.browser.newContext();
  const cors = { 'access-control-allow-origin': '*' };
  const gs1 = await watchGs1(context, (route) => {
    const url = new URL(route.request().url());
    if (isLinkset(url.href)) {
      return route.fulfill({ status: 200, headers: { ...cors, 'content-type': 'application/linkset+json' },
        body: JSON.stringify({ linkset: [{ anchor: `${GS1}/${ID}`,
          'https://gs1.org/voc/pip': [{ href: `${GS1}/${ID}/pip` }],
          'https://gs1.org/voc/dpp': [{ href: '/passports/acme/1', type: 'application/vc+jwt' }],
          'https://cellproof.dev/rel/passport-chain': [{ href: '/chains/acme/1', type: 'application/json' }] }] }) });
    }
    if (url.pathname === '/chains/acme/1') {
      return route.fulfill({ status: 200, headers: { ...cors, 'content-type': 'application/json' }, body: chain });
    }
    return route.fulfill({ status: 404, headers: cors, body: '' });
  });
  await context.route((url) => url.origin === env.server.url && isLinkset(url.href), (route) => route.fulfill({ status: 503, body: 'down' }));
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
  await input.fill(ELEMENT);
  await input.press('Enter');
  const v = await assertResolvedValid(page, 'id.gs1.org');
  // The relative href resolved against the linkset's URL; the chain preferred to the passport.
  assert.equal(v.source.url, `${GS1}/chains/acme/1`);
  assert.deepEqual(gs1.map((r) => new URL(r.url).pathname), [`/${ID}`, '/chains/acme/1']);
  assert.equal(gs1[1].headers.accept, 'application/json');
  await context.close();
});

/** The demo passport of passport-valid re-signed as `did:web:dpp.example.org` (which no trust
 * list names) with a fresh Ed25519 key, and that DID's document listing `listed` (a public JWK). */
function didWebPassport(jws) {
  const b64 = (b) => Buffer.from(b).toString('base64url');
  const [h, p] = jws.split('.');
  const header = { ...JSON.parse(Buffer.from(h, 'base64url')), kid: 'k1' };
  const payload = { ...JSON.parse(Buffer.from(p, 'base64url')), issuer: 'did:web:dpp.example.org' };
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const signed = `${input}.${b64(sign(null, Buffer.from(input), privateKey))}`;
  const doc = (jwk) => JSON.stringify({ '@context': ['https://www.w3.org/ns/did/v1'], id: 'did:web:dpp.example.org',
    verificationMethod: [{ id: 'did:web:dpp.example.org#k1', type: 'JsonWebKey', controller: 'did:web:dpp.example.org',
      publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x } }],
    assertionMethod: ['did:web:dpp.example.org#k1'] });
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return { signed, doc: doc(publicKey.export({ format: 'jwk' })), wrongDoc: doc(other) };
}

test('a did:web issuer no trust list names: its DID document fetched, the signature checked, never valid', async () => {
  const link = plainLink();
  const jws = await (await fetch(link, { headers: { Accept: 'application/vc+jwt' } })).text();
  const { signed, doc, wrongDoc } = didWebPassport(jws);
  const context = await env.browser.newContext();
  const cors = { 'access-control-allow-origin': '*' };
  let served = doc;
  const didAsked = [];
  await context.route('https://dpp.example.org/**', async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/.well-known/did.json') {
      didAsked.push({ url: url.href, headers: await route.request().allHeaders() });
      return route.fulfill({ status: 200, headers: { ...cors, 'content-type': 'application/did+json' }, body: served });
    }
    return route.fulfill({ status: 200, headers: { ...cors, 'content-type': 'application/vc+jwt' }, body: signed });
  });
  await context.route((url) => url.origin === env.server.url && isLinkset(url.href), (route) => route.fulfill({
    status: 200, headers: { 'content-type': 'application/linkset+json' },
    body: JSON.stringify({ linkset: [{ anchor: link, 'https://gs1.org/voc/dpp': [{ href: 'https://dpp.example.org/p/1', type: 'application/vc+jwt' }] }] }) }));
  const page = await context.newPage();
  await page.goto(link);
  let v = await shown(page);
  assert.equal(v.overall, 'unverifiable', v.text);
  assert.equal(v.code, 'issuer_unknown');
  assert.equal(v.source?.host, 'dpp.example.org');
  assert.equal(didAsked.length, 1);
  assert.equal(didAsked[0].url, 'https://dpp.example.org/.well-known/did.json');
  assert.equal(didAsked[0].headers.cookie, undefined);
  // The document lists another key: the passport is a forgery under it.
  served = wrongDoc;
  await page.goto(link);
  v = await shown(page);
  assert.equal(v.overall, 'invalid', v.text);
  assert.equal(v.code, 'signature_invalid');
  await context.close();
});

test('limits: too large an answer, a redirect to plain http, a resolver that never answers', async () => {
  const link = plainLink();
  const context = await env.browser.newContext();
  let mode = 'large';
  const plainHttp = [];
  await context.route('http://resolver.example/**', (route) => {
    plainHttp.push(route.request().url());
    return route.fulfill({ status: 200, headers: { 'access-control-allow-origin': '*' }, body: '{"linkset": []}' });
  });
  await context.route((url) => isLinkset(url.href) && url.origin === env.server.url, (route) => {
    if (mode === 'large') {
      return route.fulfill({ status: 200, headers: { 'content-type': 'application/linkset+json' },
        body: JSON.stringify({ linkset: [{ anchor: link, pad: 'x'.repeat(300 * 1024) }] }) });
    }
    if (mode === 'redirect') return route.fulfill({ status: 302, headers: { location: `http://resolver.example/${ID}?linkType=linkset` } });
    return new Promise(() => {}); // never answers
  });
  const page = await context.newPage();
  await page.goto(link);
  let v = await shown(page);
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, 'resolution_limit', '300 KiB is more than the 256 KiB a linkset may have');
  assert.match(v.text, /safety limit/);
  // The page's own check of every URL asked and answered (the CSP would refuse http anyway).
  assert.deepEqual(await page.evaluate(async () => {
    const { allowedUrl } = await import('/resolve.js');
    const loopback = { href: 'http://127.0.0.1:8080/' };
    const remote = { href: 'https://example.org/' };
    return [allowedUrl('https://id.gs1.org/01/1', remote), allowedUrl('http://resolver.example/x', loopback),
      allowedUrl('http://127.0.0.1:9/x', loopback), allowedUrl('http://127.0.0.1:9/x', remote),
      allowedUrl('ftp://127.0.0.1/x', loopback), allowedUrl('not a url', loopback)];
  }), [true, false, true, false, false, false]);

  mode = 'redirect';
  await page.goto(link);
  v = await shown(page);
  assert.equal(v.overall, 'unverifiable');
  assert.ok(['resolution_limit', 'resolver_unreachable'].includes(v.code), v.code);
  assert.deepEqual(plainHttp, [], 'nothing was sent over plain http');

  mode = 'hang';
  const t0 = Date.now();
  await page.goto(link);
  await page.locator('[data-testid="verdict"][data-resolving]').waitFor();
  v = await shown(page);
  const took = Date.now() - t0;
  assert.equal(v.code, 'resolver_unreachable');
  assert.ok(took >= 9_000 && took < 25_000, `gave up after ${took} ms, the limit is 10 s a request`);
  await context.close();
});

test('offline: a plain link and an element string stay unverifiable no_embedded_credential', async () => {
  const link = plainLink();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller != null);
  const asked = [];
  context.on('request', (r) => { if (isLinkset(r.url())) asked.push(r.url()); });
  await context.setOffline(true);
  await page.goto(link);
  const v = await shown(page);
  assertPlain(v, 'no_embedded_credential');
  assert.match(v.text, SENTENCE);
  assert.equal(v.identifier, ID);
  assert.equal(v.panel, 0);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  // A handheld scanner's keyboard wedge: symbology identifier `]d2`, FNC1 typed as GS after the
  // variable-length serial (an AI after it).
  const wedge = `]d201${GTIN}21${SERIAL}\x1d10LOT1`;
  for (const [code, id] of [[ELEMENT, ID], [wedge, `01/${GTIN}/10/LOT1/21/${SERIAL}`]]) {
    await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
    await input.fill(code);
    await input.press('Enter');
    const w = await shown(page);
    assertPlain(w, 'no_embedded_credential');
    assert.match(w.text, SENTENCE);
    assert.equal(w.identifier, id, code);
    assert.equal(w.panel, 0);
  }
  assert.deepEqual(asked, [], 'offline: nothing asked');
  await context.close();
});

test('a model-level link (no AI 21): item_not_serialised, never resolved, never a passport panel', async () => {
  const context = await env.browser.newContext();
  const asked = [];
  context.on('request', (r) => { if (isLinkset(r.url())) asked.push(r.url()); });
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  for (const [code, id] of [['https://id.gs1.org/01/09506000134352/10/ABC123', '01/09506000134352/10/ABC123'],
    ['https://id.gs1.org/01/09506000134352', '01/09506000134352']]) {
    await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
    await input.fill(code);
    await input.press('Enter');
    const v = await shown(page);
    assertPlain(v, 'item_not_serialised');
    assert.match(v.text, /names a product model or a lot, not one battery/);
    assert.equal(v.identifier, id);
    assert.equal(v.panel, 0, 'a model-level passport is never this battery\'s');
  }
  assert.deepEqual(asked, []);
  await context.close();
});

/** The manifest's labels without a credential (issue 17's demo samples), with their expected
 * verdicts: this registry's plain link and element string, and the foreign origin's. */
function resolvedSamples() {
  const samples = env.server.manifest.resolvedSamples;
  assert.deepEqual(samples.map((s) => s.name), ['plain-link', 'element-string', 'foreign-untp', 'foreign-untrusted', 'untp-link']);
  return samples;
}

test('every demo sample of another world verifies against the two origins: scanner field online and offline, the plain link from a stock camera', async () => {
  const foreign = env.server.manifest.foreign.origin;
  assert.notEqual(foreign, env.server.url);
  const context = await env.browser.newContext();
  const gs1 = await watchGs1(context);
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  for (const s of resolvedSamples()) {
    await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
    await input.fill(s.url);
    await input.press('Enter');
    const v = await shown(page);
    assert.equal(v.overall, s.expect.overall, `${s.name}: ${v.text}`);
    assert.equal(v.code, s.expect.code ?? '', `${s.name}: ${v.text}`);
    assert.ok(v.source, `${s.name}: names where the passport came from`);
    const from = s.name.startsWith('foreign') || s.name === 'untp-link' ? new URL(foreign).host : host();
    assert.equal(v.source.host, from, s.name);
    if (s.name === 'foreign-untrusted') {
      // ES256 under the DID document's P-256 key: signed by a DID no list names, never genuine.
      assert.match(v.text, new RegExp(s.issuer.replace(/[.%]/g, '\\$&')), v.text);
      assert.doesNotMatch(v.text, /Not genuine/);
    } else {
      assert.match(v.text, /Genuine/, `${s.name}: ${v.text}`);
    }
  }
  assert.deepEqual(gs1, [], 'every label was answered where it said, or by the page\'s registry');
  // A stock camera opening the registry's plain link shows that battery's verdict.
  const plain = resolvedSamples().find((s) => s.name === 'plain-link');
  await page.goto(plain.url);
  await assertResolvedValid(page, host());
  // Offline: every one of them carries no signature of its own, and nothing is asked.
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller != null);
  const asked = [];
  context.on('request', (r) => { if (!r.url().startsWith(env.server.url)) asked.push(r.url()); });
  await context.setOffline(true);
  for (const s of resolvedSamples()) {
    await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
    await input.fill(s.url);
    await input.press('Enter');
    const v = await shown(page);
    assertPlain(v, 'no_embedded_credential');
    assert.match(v.text, SENTENCE, s.name);
  }
  assert.deepEqual(asked, [], 'offline: nothing asked');
  await context.close();
});
