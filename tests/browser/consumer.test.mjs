// Consumer flow: the QR URL opens the page, which verifies the fragment locally and shows the
// verdict. Real Chromium against the real registry started with --demo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, verdictOf } from './support/env.mjs';
import { tamper, unknownIssuerUrl } from './support/codes.mjs';

const env = useServerAndBrowser();

async function open(url) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  const v = await verdictOf(page);
  await context.close();
  // SPEC.md section 2: the fragment (the credential) never reaches a env.server.
  const frag = url.split('#')[1];
  assert.ok(requests.every((r) => !r.includes(frag.slice(0, 32))), 'fragment sent over the network');
  return v;
}

test('valid credential: genuine, issuer and trust path, data age', async () => {
  const v = await open(env.server.sample('valid'));
  assert.equal(v.overall, 'valid');
  assert.equal(v.code, '');
  assert.match(v.text, /Genuine/);
  assert.match(v.text, /ACME Cells GmbH/);
  assert.match(v.text, /catena-x/);
  assert.match(v.age, /trust lists .* old/);
});

test('revoked credential: not genuine, revoked', async () => {
  const v = await open(env.server.sample('revoked'));
  assert.equal(v.overall, 'invalid');
  assert.equal(v.code, 'revoked');
  assert.match(v.text, /revoked this passport/);
});

test('tampered credential: not genuine, signature', async () => {
  const v = await open(tamper(env.server.sample('valid')));
  assert.equal(v.overall, 'invalid');
  assert.equal(v.code, 'signature_invalid');
});

test('unknown issuer: cannot verify, never genuine', async () => {
  const url = env.server.sample('unknown-issuer', 'unknown_issuer', 'unknown') ?? unknownIssuerUrl(env.server.sample('valid'));
  const v = await open(url);
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, 'issuer_unknown');
  assert.doesNotMatch(v.text, /Genuine/);
});

test('German and Japanese from the browser language', async () => {
  for (const [locale, word] of [['de-DE', 'Echt'], ['ja-JP', '正規品']]) {
    const context = await env.browser.newContext({ locale });
    const page = await context.newPage();
    await page.goto(env.server.sample('valid'));
    const v = await verdictOf(page);
    assert.match(v.text, new RegExp(word));
    await context.close();
  }
});
