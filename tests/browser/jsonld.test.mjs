// Our credentials are VC 2.0 JSON-LD that others can read (SPEC.md 1.2 section 3): every
// credential Cellproof signs (the passport versions and attestations of the vectors, the demo
// registry's passports, status lists and the reference passport) expands with jsonld.js in
// safe mode, as UNTP's test suite tier 1 runs it, with nothing dropped. Contexts come from
// @digitalbazaar/credentials-context (the W3C VC 2.0 and undefined-terms contexts, W3C
// Software and Document License); any other context URL is refused, as a verifier never fetches
// contexts at verification time. No browser is started: this runs under plain node --test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { repo } from './support/env.mjs';

const require = createRequire(import.meta.url);
const jsonld = require('jsonld');
const { contexts } = require('@digitalbazaar/credentials-context');

const documentLoader = async (url) => {
  const document = contexts.get(url);
  if (!document) throw new Error(`context ${url} is not held: verifiers never fetch contexts`);
  return { contextUrl: null, documentUrl: url, document };
};

const payloadOf = (jws) => {
  const [, payload] = jws.trim().split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
};

/** Expands in safe mode: any term or value that would be dropped throws. */
async function expandsWhole(doc, name) {
  let expanded;
  try {
    expanded = await jsonld.expand(doc, { safe: true, documentLoader });
  } catch (e) {
    assert.fail(`${name}: safe-mode expansion failed: ${e.message} ${JSON.stringify(e.details ?? {}).slice(0, 300)}`);
  }
  assert.equal(expanded.length, 1, `${name}: one node expected`);
  const node = expanded[0];
  assert.ok(node['@type']?.includes('https://www.w3.org/2018/credentials#VerifiableCredential'), `${name}: type`);
  assert.ok(node['https://www.w3.org/2018/credentials#credentialSubject'], `${name}: credentialSubject kept`);
  return node;
}

test('every passport version and attestation of the vectors expands in safe mode with nothing dropped', async () => {
  const dir = `${repo}/tests/vectors/passports`;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.chain.json'));
  assert.ok(files.length >= 8, `found ${files.length} chains`);
  let n = 0;
  for (const f of files) {
    const chain = JSON.parse(await readFile(`${dir}/${f}`, 'utf8'));
    for (const [i, v] of (chain.versions ?? []).entries()) {
      const p = payloadOf(v);
      // SPEC 1.2 section 3: every new credential carries an absolute `id`.
      assert.match(p.id ?? '', /^urn:uuid:[0-9a-f-]{36}$/, `${f} version ${i + 1}: id`);
      const node = await expandsWhole(p, `${f} version ${i + 1}`);
      // A Cellproof term under the undefined-term vocabulary, not dropped.
      assert.ok(Object.keys(node).some((k) => k.startsWith('https://www.w3.org/2018/credentials#credentialSubject')));
      n += 1;
    }
    for (const [d, a] of Object.entries(chain.attestations ?? {})) {
      assert.match(payloadOf(a).id ?? '', /^urn:uuid:/, `${f} attestation ${d}: id`);
      await expandsWhole(payloadOf(a), `${f} attestation ${d}`);
      n += 1;
    }
  }
  assert.ok(n >= 16, `expanded ${n} credentials`);
});

test('a term outside every context is caught: the check can fail', async () => {
  const doc = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential', 'BatteryPassport'],
    issuer: 'did:web:acme.example',
    credentialSubject: { id: 'https://id.example/01/04012345000016/21/X', metadata: { version: 1 } },
  };
  await assert.rejects(jsonld.expand(doc, { safe: true, documentLoader }), /safe mode/i);
  doc['@context'].push('https://www.w3.org/ns/credentials/undefined-terms/v2');
  const [node] = await jsonld.expand(doc, { safe: true, documentLoader });
  const subject = node['https://www.w3.org/2018/credentials#credentialSubject'][0];
  assert.ok(subject['https://www.w3.org/ns/credentials/undefined-term#metadata'], 'metadata kept under the undefined-term vocabulary');
  // A relative id is dropped in safe mode, so it fails too: every id must be an absolute IRI.
  const relative = { ...doc, id: 'passport-1' };
  await assert.rejects(jsonld.expand(relative, { safe: true, documentLoader }), /safe mode/i);
  // A context we do not hold is never fetched.
  await assert.rejects(jsonld.expand({ ...doc, '@context': ['https://evil.example/ctx'] }, { safe: true, documentLoader }), (e) => /not held/.test(JSON.stringify(e.details ?? {})) || /not held|Dereferencing/.test(e.message));
});
