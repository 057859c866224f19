// What the page shows of a credential's claims: a label whose integers exceed 2^53 still gets a
// verdict (never a blank page), and the lead recycled-content minimum is only held against
// batteries that contain lead (no red cross for Pb on a lithium battery).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, verdictOf } from './support/env.mjs';
import { craftedUrl, claimsJson } from './support/crafted.mjs';

const env = useServerAndBrowser();
const PATH = '01/04012345000016/21/SNCRAFTED1';

async function open(url) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const v = await verdictOf(page);
  return { context, page, v };
}

/** The recycled-content rows: {element: [share, min 2031, min 2036]}. */
const recycled = (page) => page.$$eval('[data-testid="recycled"] tr[data-element]',
  (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.element, [...tr.querySelectorAll('td')].map((td) => td.textContent)])));

test('credential_with_integers_beyond_2_53_still_shows_a_verdict', async () => {
  // Before: the binding could not convert u64 above 2^53, returned undefined, and the page
  // showed nothing at all.
  const bp = '{"cat":"ev","mfr":"BPNL000000000666","chem":"NMC811","kg":18446744073709551615,"kwh":9007199254740993}';
  for (const [iat, exp] of [[9007199254740993n, 18446744073709551615n], [18446744073709551615n, null]]) {
    const url = craftedUrl(env.server.url, PATH, claimsJson(PATH, bp, { iat: String(iat), exp: exp == null ? null : String(exp) }));
    const { context, v } = await open(url);
    assert.match(v.overall, /^(invalid|unverifiable)$/);
    assert.ok(v.code, 'a deciding code');
    assert.match(v.text, /04012345000016/);
    assert.match(v.text, /SNCRAFTED1/);
    assert.doesNotMatch(v.text, /Genuine/);
    await context.close();
  }
});

test('lead_minimum_applies_only_to_batteries_that_contain_lead', async () => {
  // Before: the demo's lithium (NMC811) battery lists Pb [0, 0] and the page showed a red
  // cross against the 85 % lead minimum.
  let { context, page, v } = await open(env.server.sample('valid'));
  assert.equal(v.overall, 'valid');
  let rows = await recycled(page);
  assert.ok(rows.Co && rows.Li && rows.Ni, 'the lithium-battery minimums are shown');
  assert.equal(rows.Pb, undefined, 'no lead row for a lithium battery without lead');
  assert.doesNotMatch(await page.getByTestId('recycled').textContent(), /✗ 85/);
  await context.close();

  // A lithium battery that lists some Pb: the share is shown, no minimum held against it.
  ({ context, page } = await open(craftedUrl(env.server.url, PATH,
    claimsJson(PATH, '{"cat":"ev","mfr":"BPNL000000000666","chem":"LFP","rc":{"Li":[3,3],"Pb":[1,0]}}'))));
  rows = await recycled(page);
  assert.match(rows.Pb[0], /^1 /);
  assert.match(rows.Pb[1], /n\/a/);
  assert.doesNotMatch(rows.Pb.join(' '), /[✓✗]/);
  await context.close();

  // A lead-acid battery: the 85 % minimum applies, met or not.
  for (const [pb, mark] of [['[80,10]', '✓'], ['[50,0]', '✗']]) {
    ({ context, page } = await open(craftedUrl(env.server.url, PATH,
      claimsJson(PATH, `{"cat":"industrial","mfr":"BPNL000000000666","chem":"PbA","rc":{"Pb":${pb}}}`))));
    rows = await recycled(page);
    assert.equal(rows.Pb[1], `${mark} 85`);
    await context.close();
  }
});
