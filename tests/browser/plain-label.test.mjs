// Labels without an embedded credential (SPEC.md 1.2 section 2.1, issue 17): a plain GS1
// Digital Link opened by a phone's stock camera, a GS1 element string typed by a keyboard-wedge
// scanner or pasted, and a model-level link. The page hands each to the core and shows its
// answer: unverifiable (`no_embedded_credential`, or `item_not_serialised` without AI 21), the
// sentence that the label carries no signature, and the identifier read. Never "Not genuine",
// and never a passport panel for a label that names no single battery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, verdictOf, pageReady } from './support/env.mjs';

const env = useServerAndBrowser();

/** The demo's passport-valid battery as its plain link: the sample URL without the fragment. */
function plainLink() {
  const url = env.server.sample('passport-valid');
  assert.ok(url, 'the demo lists passport-valid');
  return url.split('#')[0];
}

/** What the verdict box shows: overall, code, text, the identifier read, the passport panel. */
async function shown(page) {
  const v = await verdictOf(page);
  return {
    ...v,
    identifier: await page.getByTestId('label-identifier').textContent({ timeout: 5_000 }).catch(() => null),
    panel: await page.getByTestId('passport-panel').count(),
  };
}

function assertPlain(v, code) {
  assert.equal(v.overall, 'unverifiable');
  assert.equal(v.code, code);
  assert.doesNotMatch(v.text, /Not genuine/);
  assert.doesNotMatch(v.text, /Genuine/);
}

const SENTENCE = /carries no signature of its own/;

test('plain Digital Link opened by a stock camera: unverifiable, no signature, the identifier read', async () => {
  const link = plainLink();
  assert.doesNotMatch(link, /#/);
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  const v = await shown(page);
  assertPlain(v, 'no_embedded_credential');
  assert.match(v.text, SENTENCE);
  assert.equal(v.identifier, '01/04012345000016/21/CPPASSVALID000');
  // The label's link is not the battery's signed label: no passport is shown as if it were.
  assert.equal(v.panel, 0);
  await pageReady(page);
  await context.close();
});

test('element strings typed or pasted into the scanner field: the same identifier', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.server.url}/`);
  await pageReady(page);
  const input = page.getByTestId('manual-input');
  // A handheld scanner's keyboard wedge: symbology identifier `]d2`, FNC1 typed as GS after the
  // variable-length serial (an AI after it).
  const wedge = ']d2010401234500001621CPPASSVALID000\x1d10LOT1';
  for (const [code, id] of [['(01)04012345000016(21)CPPASSVALID000', '01/04012345000016/21/CPPASSVALID000'],
    [wedge, '01/04012345000016/10/LOT1/21/CPPASSVALID000']]) {
    await page.evaluate(() => { document.getElementById('verdict').dataset.overall = ''; });
    await input.fill(code);
    await input.press('Enter');
    const v = await shown(page);
    assertPlain(v, 'no_embedded_credential');
    assert.match(v.text, SENTENCE);
    assert.equal(v.identifier, id, code);
    assert.equal(v.panel, 0);
  }
  // Pasted with its line end: checked at once.
  await page.evaluate(() => {
    document.getElementById('verdict').dataset.overall = '';
    const dt = new DataTransfer();
    dt.setData('text/plain', '(01)04012345000016(21)CPPASSVALID000\n');
    document.getElementById('manual').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  const pasted = await shown(page);
  assertPlain(pasted, 'no_embedded_credential');
  assert.equal(pasted.identifier, '01/04012345000016/21/CPPASSVALID000');
  await context.close();
});

test('a model-level link (no AI 21): item_not_serialised, never a passport panel', async () => {
  const context = await env.browser.newContext();
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
  await context.close();
});
