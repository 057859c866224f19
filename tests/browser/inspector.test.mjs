// Inspectors (issue 9, SPEC.md sections 6.3 and 6.4) in real Chromium against the real
// registry: the page makes the inspector's key (WebCrypto Ed25519, non-extractable), the
// operator enrols it through the operator route, the inspector reads restricted data that an
// unenrolled key and a manufacturer cannot, the read is in the audit log, the sections are in
// memory only (not in IndexedDB, not in CacheStorage, gone after a reload), the inspector takes
// a pack, goes offline, verifies from the pack, seals a report with a photo, and
// `cellproof report verify` accepts the exported file and rejects tampered copies. Then the
// session's clone hints and the consumer's warning for a label on an unlisted site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, pageReady, verdictOf } from './support/env.mjs';
import { enrolInspector, setResolvers, operatorToken } from './support/operator.mjs';
import { cli, craftedUrl, claimsJson } from './support/crafted.mjs';

const env = useServerAndBrowser();
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const INSPECTOR_DID = 'did:web:msa.e2e.example:inspector:7';
const INSPECTOR_NAME = 'E2E market surveillance inspector';

/** RFC 7638 thumbprint of an OKP JWK. */
function thumbprint(jwk) {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url');
}

/** A `registry-request+jwt` signed in node with a private JWK. */
function signedRequest(privateJwk, kid, payload) {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, d: privateJwk.d }, format: 'jwk' });
  const input = `${b64u(JSON.stringify({ alg: 'EdDSA', kid, typ: 'registry-request+jwt' }))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${b64u(sign(null, Buffer.from(input), key))}`;
}

function readBody(server, iss, path, tier) {
  return { iss, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), aud: server.manifest.server ?? server.url, op: 'read', item: path, tier };
}

async function postRestricted(server, jws) {
  const res = await fetch(`${server.url}/v1/restricted`, { method: 'POST', headers: { 'Content-Type': 'application/jwt' }, body: jws });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function audit(server) {
  const res = await fetch(`${server.url}/v1/audit?after=0&limit=1000`, { headers: { Authorization: `Bearer ${await operatorToken(server)}` } });
  assert.equal(res.status, 200);
  const body = await res.json();
  return Array.isArray(body) ? body : (body.entries ?? []);
}

/** Everything this origin stores: IndexedDB (every store, every record) and CacheStorage,
 * as text (CryptoKeys as their type: they hold no readable bytes). */
async function storedText(page) {
  return page.evaluate(async () => {
    const out = [];
    const dbs = await indexedDB.databases();
    for (const { name } of dbs) {
      const db = await new Promise((r, j) => { const q = indexedDB.open(name); q.onsuccess = () => r(q.result); q.onerror = () => j(q.error); });
      for (const s of db.objectStoreNames) {
        const all = await new Promise((r, j) => {
          const q = db.transaction(s).objectStore(s).getAll();
          q.onsuccess = () => r(q.result); q.onerror = () => j(q.error);
        });
        out.push(JSON.stringify(all, (k, v) => (v instanceof CryptoKey ? `CryptoKey:${v.type}` : v instanceof Uint8Array ? Array.from(v) : v)));
      }
      db.close();
    }
    for (const name of await caches.keys()) {
      const c = await caches.open(name);
      for (const req of await c.keys()) out.push(req.url, await (await c.match(req)).text());
    }
    return out.join('\n');
  });
}

async function scan(page, text) {
  await page.getByTestId('manual-input').fill(text);
  await page.getByTestId('manual-input').press('Enter');
}

/** A page whose script errors are printed (a failing step then says why). */
async function newPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.error(`console: ${m.text()}`); });
  return page;
}

const synced = (page) => page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid="sync-status"]').textContent));

test('an inspector enrols a device key, reads restricted data, works offline from a pack and seals a report that cellproof report verify accepts', async () => {
  const { server, browser } = env;
  const sample = server.sample('passport-valid');
  const other = server.sample('valid');
  assert.ok(sample && other, 'demo samples');
  const path = /\/(01\/\d{14}\/21\/[^#]+)#/.exec(sample)[1];
  const eco = server.manifest.inspectors?.[0]?.eco ?? 'catena-x';
  const dir = await mkdtemp(join(tmpdir(), 'cellproof-inspector-'));
  const context = await browser.newContext({ acceptDownloads: true });
  try {
    const page = await newPage(context);
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await synced(page);

    // The device key: made by WebCrypto, non-extractable, shown with its thumbprint.
    await page.getByTestId('inspector-toggle').click();
    await page.getByTestId('inspector-panel').waitFor();
    assert.equal(await page.getByTestId('inspector-who').getAttribute('data-enrolled'), '0');
    await page.getByTestId('inspector-make-key').click();
    await page.getByTestId('inspector-jwk').waitFor();
    assert.equal(await page.getByTestId('inspector-key').getAttribute('data-kind'), 'webcrypto');
    const jwk = JSON.parse(await page.getByTestId('inspector-jwk').textContent());
    assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kid', 'kty', 'x'], 'a public JWK, no private member');
    assert.equal(jwk.kid, thumbprint(jwk));
    assert.equal(await page.getByTestId('inspector-thumbprint').textContent(), thumbprint(jwk));
    const keyRecord = await page.evaluate(async () => {
      const db = await new Promise((r) => { const q = indexedDB.open('cellproof'); q.onsuccess = () => r(q.result); });
      const rec = await new Promise((r) => { const q = db.transaction('kv').objectStore('kv').get('inspectorKey'); q.onsuccess = () => r(q.result); });
      let exported = 'refused';
      try { await crypto.subtle.exportKey('jwk', rec.privateKey); exported = 'exported'; } catch { /* non-extractable */ }
      return { kind: rec.kind, extractable: rec.privateKey.extractable, type: rec.privateKey.type, exported, hasSecret: 'secret' in rec };
    });
    assert.deepEqual(keyRecord, { kind: 'webcrypto', extractable: false, type: 'private', exported: 'refused', hasSecret: false });

    // Not enrolled yet: the registry refuses a read signed with this key (node signs with a
    // fresh key in the inspector's name: the registry knows neither).
    const stranger = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    const refusedStranger = await postRestricted(server, signedRequest(stranger, 'k-stranger', readBody(server, INSPECTOR_DID, path, 'authority')));
    assert.equal(refusedStranger.status, 403, JSON.stringify(refusedStranger.body));
    // A manufacturer (a consumer-side party with a key, but no reader role) is refused too.
    const acme = server.manifest.issuers.find((i) => i.slug === 'acme') ?? server.manifest.issuers[0];
    const acmeKey = JSON.parse(await readFile(join(server.data, acme.key), 'utf8'));
    const refusedMaker = await postRestricted(server, signedRequest(acmeKey, acme.kid, readBody(server, acme.did, path, 'authority')));
    assert.equal(refusedMaker.status, 403);
    assert.equal(refusedMaker.body?.code, 'role_missing');
    // An unsigned body is refused as well.
    assert.ok((await postRestricted(server, 'not.a.jws')).status >= 400);

    // The operator enrols the key: an inspector entity in the ecosystem's trust list.
    const up = await enrolInspector(server, { eco, did: INSPECTOR_DID, name: INSPECTOR_NAME, jwk });
    assert.equal(up.status, 200, up.body);
    await page.getByTestId('sync').click();
    await page.waitForSelector('[data-testid="inspector-who"][data-enrolled="1"]');
    assert.match(await page.getByTestId('inspector-who').textContent(), new RegExp(`${INSPECTOR_NAME}.*${INSPECTOR_DID.replace(/[.:]/g, '\\$&')}`));
    assert.match(await page.getByTestId('inspector-authority').textContent(), new RegExp(eco));
    // Visibly different from the consumer view.
    assert.ok(await page.evaluate(() => document.body.classList.contains('inspector-mode')));

    // A battery with a passport; a restricted read of both tiers, verified in wasm.
    await scan(page, sample);
    assert.equal((await verdictOf(page)).overall, 'valid');
    await page.waitForSelector('[data-testid="verdict-source"][data-source="registry"]');
    await page.getByTestId('restricted-tier').selectOption('authority');
    await page.getByTestId('restricted-read').click();
    await page.waitForSelector('[data-testid="restricted-section"]');
    const sections = await page.$$eval('[data-testid="restricted-section"]', (els) => els.map((e) => ({ ok: e.dataset.ok, tier: e.dataset.tier, digest: e.dataset.digest, text: e.textContent })));
    assert.ok(sections.length >= 2, JSON.stringify(sections));
    assert.ok(sections.every((s) => s.ok === '1'), JSON.stringify(sections));
    assert.deepEqual([...new Set(sections.map((s) => s.tier))].sort(), ['authority', 'legitimate-interest']);

    // The registry's audit log names the reader and the battery.
    const reads = (await audit(server)).filter((e) => e.action === 'restricted.read' && e.actor === INSPECTOR_DID);
    assert.equal(reads.length, 1, 'one read, audited');
    assert.match(JSON.stringify(reads[0].detail), new RegExp(path.replace(/\//g, '\\/')));

    // Restricted data is in memory only: neither IndexedDB nor the service worker's cache
    // holds any of it, and a reload forgets it.
    await page.evaluate(() => navigator.serviceWorker.ready);
    let stored = await storedText(page);
    for (const s of sections) assert.ok(!stored.includes(s.digest), `section ${s.digest} stored`);
    await page.reload();
    await pageReady(page);
    await page.getByTestId('inspector-panel').waitFor();
    await page.locator('[data-testid="scan-row"]').first().click();
    await page.getByTestId('restricted').waitFor();
    assert.equal(await page.locator('[data-testid="restricted-section"]').count(), 0, 'gone after reload');

    // Scanning again after another label: a clone hint on the row, and later in the report.
    await scan(page, other);
    await scan(page, sample);
    await page.waitForSelector('[data-testid="scan-row"] [data-hint="label_again"]');

    // The pack: the session's batteries, fetched before going out.
    await page.getByTestId('inspector-pack-from-session').click();
    assert.match(await page.getByTestId('pack-items').inputValue(), new RegExp(path.replace(/\//g, '\\/')));
    await page.getByTestId('pack-sync').click();
    await page.waitForFunction(() => /kB/.test(document.querySelector('[data-testid="pack-status"]').textContent));
    await page.waitForFunction(() => /kB/.test(document.querySelector('[data-testid="inspector-data-age"]').textContent));
    // The pack keeps the passport's public documents, each checked against its digest.
    assert.ok(Number(await page.getByTestId('pack-status').getAttribute('data-documents')) >= 1);
    assert.match(await page.getByTestId('pack-status').textContent(), /0 refused/);

    // Offline: the page starts from the service worker, verifies from the pack and says so.
    await context.setOffline(true);
    await page.reload();
    await pageReady(page);
    await page.getByTestId('inspector-panel').waitFor();
    await scan(page, sample);
    const off = await verdictOf(page);
    assert.equal(off.overall, 'valid', off.text);
    await page.waitForSelector('[data-testid="verdict-source"][data-source="pack"]');
    assert.match(await page.getByTestId('verdict-source').textContent(), /offline pack/);
    // The passport's document opens offline from the pack's copy, its digest checked again.
    const packDoc = page.locator('#verdict-details [data-testid="document"]').first();
    await packDoc.getByTestId('document-check').click();
    await page.waitForSelector('#verdict-details [data-testid="document"]:not([data-state="idle"]):not([data-state="checking"])');
    assert.equal(await packDoc.getAttribute('data-state'), 'verified');
    assert.equal(await packDoc.getAttribute('data-source'), 'pack');
    assert.match(await packDoc.getByTestId('document-from-pack').textContent(), /offline pack/);
    const docDigest = await packDoc.getAttribute('data-digest');
    // The page's CSP keeps blob URLs out of fetch: hash the copy the pack stored instead (the
    // bytes the blob was made of), and check the link opens a blob.
    assert.match(await packDoc.getByTestId('document-open').getAttribute('href'), /^blob:/);
    const storedDigest = await page.evaluate(async (digest) => {
      const db = await new Promise((r, j) => { const q = indexedDB.open('cellproof'); q.onsuccess = () => r(q.result); q.onerror = () => j(q.error); });
      const pack = await new Promise((r) => { const q = db.transaction('kv').objectStore('kv').get('pack'); q.onsuccess = () => r(q.result); });
      db.close();
      const h = new Uint8Array(await crypto.subtle.digest('SHA-256', pack.documents[digest].bytes));
      return btoa(String.fromCharCode(...h)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    }, docDigest);
    assert.equal(storedDigest, docDigest, 'the stored copy has the digest the passport names');
    // A pack copy changed on the device is refused at use, nothing opened.
    await page.evaluate(async (digest) => {
      const db = await new Promise((r, j) => { const q = indexedDB.open('cellproof'); q.onsuccess = () => r(q.result); q.onerror = () => j(q.error); });
      const pack = await new Promise((r) => { const q = db.transaction('kv').objectStore('kv').get('pack'); q.onsuccess = () => r(q.result); });
      pack.documents[digest].bytes[0] ^= 1;
      await new Promise((r) => { const tx = db.transaction('kv', 'readwrite'); tx.objectStore('kv').put(pack, 'pack'); tx.oncomplete = r; });
      db.close();
    }, docDigest);
    await page.reload();
    await pageReady(page);
    await page.getByTestId('inspector-panel').waitFor();
    await scan(page, sample);
    await page.waitForSelector('[data-testid="verdict-source"][data-source="pack"]');
    const badDoc = page.locator('#verdict-details [data-testid="document"]').first();
    await badDoc.getByTestId('document-check').click();
    await page.waitForSelector('#verdict-details [data-testid="document"][data-state="mismatch"]');
    assert.equal(await badDoc.getAttribute('data-code'), 'document_digest_mismatch');
    assert.equal(await badDoc.getByTestId('document-open').count(), 0);
    // Restricted data is not in the pack: reading it needs the registry.
    await page.getByTestId('restricted-read').click();
    assert.match(await page.getByTestId('restricted-status').textContent(), /never stored/);

    // A photo of the label, then "Seal inspection", offline.
    const photo = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
    await page.getByTestId('photo-input').setInputFiles({ name: 'label.png', mimeType: 'image/png', buffer: photo });
    await page.waitForSelector('[data-testid="photo-status"][data-count="1"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('seal').click()]);
    const file = join(dir, 'inspection.json');
    await download.saveAs(file);
    await page.waitForSelector('[data-testid="seal-status"][data-digest]');
    const exported = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(exported.format, 'cellproof-evidence-pack/1');
    const payload = JSON.parse(Buffer.from(exported.report.split('.')[1], 'base64url'));
    assert.equal(payload.issuer, INSPECTOR_DID);
    assert.equal(payload.credentialSubject.attestationType, 'inspection');
    assert.equal(payload.credentialSubject.verdict.overall, 'valid');
    assert.ok(payload.credentialSubject.hints.some((h) => h.code === 'possible_copied_label'), 'the clone hint is in the report');
    const photoDigest = createHash('sha256').update(photo).digest('base64url');
    assert.ok(JSON.stringify(payload.credentialSubject.evidence).includes(photoDigest), 'the photo digest is evidence');
    stored = await storedText(page);
    for (const s of sections) assert.ok(!stored.includes(s.digest), 'still nothing restricted stored');

    // cellproof report verify: the file as exported stands; tampered copies do not.
    const roots = join(dir, 'roots.json');
    await writeFile(roots, await (await fetch(`${server.url}/v1/roots`)).text());
    const ok = await cli(['report', 'verify', file, '--roots-file', roots, '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const check = JSON.parse(ok.stdout);
    assert.equal(check.stands, true);
    assert.equal(check.inspector?.id, INSPECTOR_DID);
    assert.equal(check.recomputed?.overall, 'valid');
    const tamperedPack = structuredClone(exported);
    const lists = Object.keys(tamperedPack.statusLists ?? {});
    assert.ok(lists.length > 0, 'status lists in the evidence');
    tamperedPack.statusLists[lists[0]] = tamperedPack.statusLists[lists[0]].replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    await writeFile(join(dir, 'tampered-pack.json'), JSON.stringify(tamperedPack));
    const bad1 = await cli(['report', 'verify', join(dir, 'tampered-pack.json'), '--roots-file', roots]);
    assert.equal(bad1.code, 1, bad1.stdout + bad1.stderr);
    assert.match(bad1.stdout + bad1.stderr, /report_digest_mismatch/);
    const tamperedReport = structuredClone(exported);
    const [h, , s] = exported.report.split('.');
    const forged = { ...payload, credentialSubject: { ...payload.credentialSubject, verdict: { ...payload.credentialSubject.verdict, overall: 'invalid' } } };
    tamperedReport.report = `${h}.${b64u(JSON.stringify(forged))}.${s}`;
    await writeFile(join(dir, 'tampered-report.json'), JSON.stringify(tamperedReport));
    const bad2 = await cli(['report', 'verify', join(dir, 'tampered-report.json'), '--roots-file', roots]);
    assert.equal(bad2.code, 1, bad2.stdout + bad2.stderr);
    assert.match(bad2.stdout + bad2.stderr, /signature_invalid/);

    // Back online, the same seal uploads the report to the registry.
    await context.setOffline(false);
    await page.getByTestId('seal-upload').check();
    const [again] = await Promise.all([page.waitForEvent('download'), page.getByTestId('seal').click()]);
    await again.saveAs(join(dir, 'again.json'));
    await page.waitForSelector('[data-testid="seal-status"][data-uploaded]');
    assert.equal(await page.getByTestId('seal-status').getAttribute('data-uploaded'), '1', await page.getByTestId('seal-status').textContent());
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('without Ed25519 in WebCrypto the key is the wasm core\'s, kept on the device, and reads and seals the same way', async () => {
  const { server, browser } = env;
  const sample = server.sample('passport-valid');
  const eco = server.manifest.inspectors?.[0]?.eco ?? 'catena-x';
  const dir = await mkdtemp(join(tmpdir(), 'cellproof-inspector-wasm-'));
  const context = await browser.newContext({ acceptDownloads: true });
  // A browser without Ed25519 in WebCrypto.
  await context.addInitScript(() => {
    const generate = crypto.subtle.generateKey.bind(crypto.subtle);
    crypto.subtle.generateKey = (alg, ...rest) => (String(alg?.name ?? alg).toLowerCase() === 'ed25519'
      ? Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError')) : generate(alg, ...rest));
  });
  try {
    const page = await newPage(context);
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await synced(page);
    await page.getByTestId('inspector-toggle').click();
    await page.getByTestId('inspector-make-key').click();
    await page.getByTestId('inspector-jwk').waitFor();
    assert.equal(await page.getByTestId('inspector-key').getAttribute('data-kind'), 'wasm');
    const jwk = JSON.parse(await page.getByTestId('inspector-jwk').textContent());
    assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kid', 'kty', 'x']);
    assert.equal(jwk.kid, thumbprint(jwk));
    const up = await enrolInspector(server, { eco, did: 'did:web:msa.e2e.example:inspector:8', name: 'E2E fallback inspector', jwk });
    assert.equal(up.status, 200, up.body);
    await page.getByTestId('sync').click();
    await page.waitForSelector('[data-testid="inspector-who"][data-enrolled="1"]');
    await scan(page, sample);
    await page.waitForSelector('[data-testid="verdict-source"][data-source="registry"]');
    await page.getByTestId('restricted-read').click();
    await page.waitForSelector('[data-testid="restricted-section"]');
    assert.ok(await page.$$eval('[data-testid="restricted-section"]', (els) => els.length > 0 && els.every((e) => e.dataset.ok === '1')));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('seal').click()]);
    const file = join(dir, 'inspection.json');
    await download.saveAs(file);
    const roots = join(dir, 'roots.json');
    await writeFile(roots, await (await fetch(`${server.url}/v1/roots`)).text());
    const ok = await cli(['report', 'verify', file, '--roots-file', roots]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** The IndexedDB record of the inspector's key, as data: CryptoKeys as their properties (with
 * whether WebCrypto exports their bytes), every byte array and buffer as `{bytes}`. */
async function storedKeyRecord(page) {
  return page.evaluate(async () => {
    const db = await new Promise((r) => { const q = indexedDB.open('cellproof'); q.onsuccess = () => r(q.result); });
    const rec = await new Promise((r) => { const q = db.transaction('kv').objectStore('kv').get('inspectorKey'); q.onsuccess = () => r(q.result); });
    db.close();
    const walk = async (v) => {
      if (v instanceof CryptoKey) {
        let exported = 'refused';
        try { await crypto.subtle.exportKey(v.type === 'secret' ? 'raw' : 'jwk', v); exported = 'exported'; } catch { /* non-extractable */ }
        return { cryptoKey: { type: v.type, algorithm: v.algorithm.name, extractable: v.extractable, usages: [...v.usages].sort(), exported } };
      }
      if (ArrayBuffer.isView(v)) return { bytes: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
      if (v instanceof ArrayBuffer) return { bytes: Array.from(new Uint8Array(v)) };
      if (Array.isArray(v)) return Promise.all(v.map(walk));
      if (v && typeof v === 'object') {
        const out = {};
        for (const [k, x] of Object.entries(v)) out[k] = await walk(x);
        return out;
      }
      return v;
    };
    return walk(rec);
  });
}

/** The Ed25519 public key `x` (base64url) of a 32-byte seed. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
function publicX(seed) {
  return createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x;
}

/** Every run of 32 bytes anywhere in the record (byte arrays, and strings read as base64url,
 * base64 and hex) that is the private key of `x`: what an attacker reading the origin's
 * IndexedDB would look for. */
function secretsOf(record, x) {
  const blobs = [];
  const collect = (v) => {
    if (v && typeof v === 'object' && Array.isArray(v.bytes)) blobs.push(Buffer.from(v.bytes));
    else if (typeof v === 'string') {
      blobs.push(Buffer.from(v, 'base64url'), Buffer.from(v, 'base64'));
      if (/^[0-9a-f]+$/i.test(v)) blobs.push(Buffer.from(v, 'hex'));
    } else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(record);
  const found = [];
  for (const b of blobs) {
    for (let i = 0; i + 32 <= b.length; i++) if (publicX(b.subarray(i, i + 32)) === x) found.push(b.subarray(i, i + 32).toString('hex'));
  }
  return found;
}

/** The sealed form of the wasm key (issue 16): ciphertext, IV, and an AES-GCM key that
 * WebCrypto will not export. */
function assertSealed(record, jwk) {
  assert.equal(record.kind, 'wasm');
  assert.equal(record.jwk.x, jwk.x);
  assert.ok(!('secret' in record), `no raw secret member: ${Object.keys(record)}`);
  assert.deepEqual(record.wrapKey?.cryptoKey, { type: 'secret', algorithm: 'AES-GCM', extractable: false, usages: ['decrypt', 'encrypt'], exported: 'refused' });
  assert.equal(record.iv?.bytes?.length, 12);
  assert.equal(record.sealed?.bytes?.length, 32 + 16, 'the secret and the GCM tag');
  assert.deepEqual(secretsOf(record, jwk.x), [], 'the stored record holds the private key as bytes');
}

/** A context whose WebCrypto has no Ed25519, so the page falls back to the wasm key. */
async function withoutEd25519(browser) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const generate = crypto.subtle.generateKey.bind(crypto.subtle);
    crypto.subtle.generateKey = (alg, ...rest) => (String(alg?.name ?? alg).toLowerCase() === 'ed25519'
      ? Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError')) : generate(alg, ...rest));
  });
  return context;
}

test('the wasm key is stored sealed under a non-extractable AES-GCM key: no raw secret bytes in IndexedDB', async () => {
  const { server, browser } = env;
  const context = await withoutEd25519(browser);
  try {
    const page = await newPage(context);
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await page.getByTestId('inspector-toggle').click();
    await page.getByTestId('inspector-make-key').click();
    await page.getByTestId('inspector-jwk').waitFor();
    assert.equal(await page.getByTestId('inspector-key').getAttribute('data-kind'), 'wasm');
    const jwk = JSON.parse(await page.getByTestId('inspector-jwk').textContent());
    assertSealed(await storedKeyRecord(page), jwk);
    // After a reload the sealed key is the same key.
    await page.reload();
    await pageReady(page);
    await page.getByTestId('inspector-jwk').waitFor();
    assert.deepEqual(JSON.parse(await page.getByTestId('inspector-jwk').textContent()), jwk);
  } finally {
    await context.close();
  }
});

test('a raw wasm key stored by an earlier page is sealed on load, and still signs', async () => {
  const { server, browser } = env;
  const seed = randomBytes(32);
  const x = publicX(seed);
  const jwk = { kty: 'OKP', crv: 'Ed25519', x, kid: thumbprint({ kty: 'OKP', crv: 'Ed25519', x }) };
  const context = await withoutEd25519(browser);
  try {
    const page = await newPage(context);
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await synced(page);
    // The record as the page before issue 16 stored it: the 32 secret bytes in the clear.
    await page.evaluate(async ({ seed, jwk }) => {
      const db = await new Promise((r) => { const q = indexedDB.open('cellproof'); q.onsuccess = () => r(q.result); });
      await new Promise((r, j) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put({ kind: 'wasm', secret: new Uint8Array(seed), jwk, kid: jwk.kid, created: Date.now() }, 'inspectorKey');
        tx.oncomplete = r; tx.onerror = () => j(tx.error);
      });
      db.close();
    }, { seed: [...seed], jwk });
    assert.deepEqual(secretsOf(await storedKeyRecord(page), x).length, 1, 'the planted raw key is found by the check');
    await page.reload();
    await pageReady(page);
    await page.getByTestId('inspector-toggle').click();
    await page.getByTestId('inspector-jwk').waitFor();
    assert.deepEqual(JSON.parse(await page.getByTestId('inspector-jwk').textContent()), jwk, 'the same key');
    assertSealed(await storedKeyRecord(page), jwk);
    // The sealed key signs: enrolled, it reads restricted data (a signed registry request).
    const eco = server.manifest.inspectors?.[0]?.eco ?? 'catena-x';
    const up = await enrolInspector(server, { eco, did: 'did:web:msa.e2e.example:inspector:9', name: 'E2E migrated inspector', jwk });
    assert.equal(up.status, 200, up.body);
    await page.getByTestId('sync').click();
    await page.waitForSelector('[data-testid="inspector-who"][data-enrolled="1"]');
    await scan(page, server.sample('passport-valid'));
    await page.waitForSelector('[data-testid="verdict-source"][data-source="registry"]');
    await page.getByTestId('restricted-read').click();
    await page.waitForSelector('[data-testid="restricted-section"]');
    assert.ok(await page.$$eval('[data-testid="restricted-section"]', (els) => els.length > 0 && els.every((e) => e.dataset.ok === '1')));
  } finally {
    await context.close();
  }
});

test('clone hints: a serial under two credentials is flagged on both rows, as a hint', async () => {
  const { server, browser } = env;
  const sample = server.sample('valid');
  const path = /\/(01\/\d{14}\/21\/[^#]+)#/.exec(sample)[1];
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    await page.goto(`${server.url}/`);
    await pageReady(page);
    await synced(page);
    await scan(page, sample);
    await verdictOf(page);
    // The same battery's serial in a label signed by someone else.
    const copy = craftedUrl(server.url, path, claimsJson(path, '{"cat":"ev","mfr":"x","chem":"LFP"}'));
    await scan(page, copy);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"] [data-hint="serial_twice"]').length === 2);
    // The hint never changes a verdict: the genuine label stays valid.
    const rows = await page.$$eval('[data-testid="scan-row"]', (els) => els.map((e) => e.dataset.overall));
    assert.ok(rows.includes('valid'), JSON.stringify(rows));
    assert.match(await page.locator('[data-testid="clone-hint"]').first().textContent(), /hint, not a verdict/);
    // The same label scanned twice in a row (still in hand) is no hint; scanned again after
    // another label it is.
    const labelAgain = () => page.$$eval('[data-testid="scan-row"] [data-hint="label_again"]', (els) => els.length);
    await scan(page, copy);
    await page.waitForFunction(() => document.querySelector('[data-testid="scan-row"] [data-testid="seen-count"]'));
    assert.equal(await labelAgain(), 0);
    await scan(page, sample);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="scan-row"] [data-hint="label_again"]').length === 1);
  } finally {
    await context.close();
  }
});

test('a label on a site its maker does not list: the consumer view warns, the session row says so', async () => {
  const { server, browser } = env;
  const acme = server.manifest.issuers.find((i) => i.slug === 'acme') ?? server.manifest.issuers[0];
  const up = await setResolvers(server, acme.eco, acme.did, ['https://id.cells.acme.example']);
  assert.equal(up.status, 200, up.body);
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    await page.goto(server.sample('valid'));
    const v = await verdictOf(page);
    assert.equal(v.overall, 'valid', 'a notice, not a failure');
    await page.getByTestId('resolver-warning').waitFor();
    assert.match(await page.getByTestId('resolver-warning').textContent(), /site its maker does not list/);
    await scan(page, server.sample('valid'));
    await page.waitForSelector('[data-testid="scan-row"] [data-hint="resolver_unlisted"]');
  } finally {
    await context.close();
  }
});
