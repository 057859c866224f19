// `cellproof publish` against the real registry (SPEC.md section 6.2): a certifier uploads a
// document (signed envelope) and an attestation, and the registry serves both by digest; an
// attestation outside the certifier's accreditation is refused and the command says so.
// Runs here because this suite has both binaries built (the CLI may not depend on the server).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './support/env.mjs';
import { cli } from './support/crafted.mjs';

let server;
let dir;
before(async () => {
  server = await startServer();
  dir = await mkdtemp(join(tmpdir(), 'cellproof-publish-'));
});
after(async () => {
  await server?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const b64url = (buf) => buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const digest = (bytes) => b64url(createHash('sha256').update(bytes).digest());

function attestation(did, material, evidenceDigest) {
  const now = Math.floor(Date.now() / 1000);
  return {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential', 'ConformityAttestation'],
    issuer: did,
    validFrom: new Date((now - 86400) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    credentialSubject: {
      id: 'did:web:refinery.kobalt.example',
      attestationType: 'certification',
      assessment: [{ topic: 'sourcing.due-diligence', materials: [material], conformance: true }],
      evidence: [{ linkURL: `${server.url}/v1/documents/${evidenceDigest}`, linkType: 'gs1:certificationInfo',
        name: 'Audit summary', mediaType: 'text/plain', hashDigest: evidenceDigest, hashMethod: 'SHA-256' }],
    },
  };
}

test('publish uploads a document and an attestation that the registry then serves by digest', async () => {
  const certifier = server.manifest.issuers.find((i) => i.key.endsWith('certifier.jwk'));
  assert.ok(certifier, JSON.stringify(server.manifest.issuers));
  const key = join(server.data, certifier.key);
  const doc = Buffer.from(`Audit summary ${Date.now()}\n`);
  const docFile = join(dir, 'audit.txt');
  await writeFile(docFile, doc);
  const claims = join(dir, 'co.json');
  await writeFile(claims, JSON.stringify(attestation(certifier.did, 'Co', digest(doc))));
  const jwsFile = join(dir, 'co.jws');
  const signed = await cli(['attest', '--key', key, '--claims', claims, '--out', jwsFile]);
  assert.equal(signed.code, 0, signed.stderr);
  const jws = await readFile(jwsFile, 'utf8');

  const out = await cli(['publish', '--registry', server.url, '--key', key, '--iss', certifier.did, docFile, jwsFile]);
  assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);

  const served = await fetch(`${server.url}/v1/documents/${digest(doc)}`);
  assert.equal(served.status, 200);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), doc);
  const att = await fetch(`${server.url}/v1/attestations/${digest(Buffer.from(jws))}`);
  assert.equal(att.status, 200);
  assert.equal((await att.text()).trim(), jws.trim());
});

test('publish reports an attestation outside the certifier accreditation and exits 1', async () => {
  const certifier = server.manifest.issuers.find((i) => i.key.endsWith('certifier.jwk'));
  const key = join(server.data, certifier.key);
  const claims = join(dir, 'li.json');
  // The Catena-X certifier is accredited for cobalt and nickel sourcing, not lithium.
  await writeFile(claims, JSON.stringify(attestation(certifier.did, 'Li', digest(Buffer.from('x')))));
  const jwsFile = join(dir, 'li.jws');
  assert.equal((await cli(['attest', '--key', key, '--claims', claims, '--out', jwsFile])).code, 0);
  const out = await cli(['publish', '--registry', server.url, '--key', key, jwsFile]);
  assert.equal(out.code, 1, `${out.stdout}\n${out.stderr}`);
  assert.match(`${out.stdout}${out.stderr}`, /attestation_out_of_scope/);
});
