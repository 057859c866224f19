// The session list's rows (web/session.js `rowItem`) with the real binding in Node (web/pkg,
// built by `cargo xtask wasm`): a label without an embedded credential (SPEC.md 2.1, a plain
// GS1 Digital Link or a DataMatrix element string) names its battery by the identifier the
// verdict's `label` carries, not by the raw text scanned.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { rowItem } from '../../web/session.js';

const root = new URL('../../', import.meta.url);
let wasm;

before(async () => {
  try {
    wasm = await import(new URL('web/pkg/cellproof_wasm.js', root));
    await wasm.default({ module_or_path: await readFile(new URL('web/pkg/cellproof_wasm_bg.wasm', root)) });
  } catch (e) {
    throw new Error(`web/pkg is not built: run \`cargo xtask wasm\` first (${e.message})`);
  }
});

const GS = '\x1d';
const ID = '01/04012345000016/21/CPPASSVALID000';

test('a label without a credential is listed by the identifier it names', () => {
  const v = new wasm.Verifier();
  for (const input of [
    '(01)04012345000016(21)CPPASSVALID000',
    ']d20104012345000016' + '21CPPASSVALID000', // GTIN is fixed length: no GS after it
    `]d2010401234500001610LOT7${GS}21CPPASSVALID000`,
    'http://127.0.0.1:8080/01/04012345000016/21/CPPASSVALID000',
    'https://id.gs1.org/01/4012345000016/21/CPPASSVALID000?17=271231',
  ]) {
    // A JSON round trip, as IndexedDB gives the stored scan back.
    const verdict = JSON.parse(JSON.stringify(v.verify(input, 1_796_600_000)));
    assert.equal(verdict.code, 'no_embedded_credential', input);
    const item = rowItem({ input, verdict });
    assert.equal(item, verdict.label.identifier, input);
    assert.match(item, input.includes('LOT7') ? /^01\/04012345000016\/10\/LOT7\/21\/CPPASSVALID000$/ : new RegExp(`^${ID}$`));
    assert.ok(!item.includes(GS), 'the GS of an element string is not shown');
  }
  v.free();
});

test('signed claims name the battery; text that is no label shows its start', () => {
  const claims = { overall: 'valid', claims: { gtin: '04012345000016', serial: 'SN1' }, label: { identifier: '01/x' } };
  assert.equal(rowItem({ input: 'https://x/01/04012345000016/21/SN1#1', verdict: claims }), '04012345000016 / SN1');
  const junk = 'x'.repeat(60);
  assert.equal(rowItem({ input: junk, verdict: { overall: 'invalid', claims: null, label: null } }), 'x'.repeat(40));
  // A UNTP link names no identifier (null): the scanned text, not "null".
  assert.equal(rowItem({ input: 'https://u/?q=1', verdict: { claims: null, label: { form: 'untp-link', identifier: null } } }), 'https://u/?q=1');
});
