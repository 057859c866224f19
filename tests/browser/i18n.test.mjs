// Every code documented in docs/error-codes.md (verification and QR codes) has a translation
// in English, German and Japanese, and every UI string exists in all three languages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { repo } from './support/env.mjs';

const { loadAll, LANGS } = await import(new URL('../../web/i18n.js', import.meta.url));
const translations = await loadAll();

test('every documented code is translated in en, de, ja', async () => {
  const doc = await readFile(`${repo}/docs/error-codes.md`, 'utf8');
  const table = [...doc.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]);
  const prose = [...doc.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1])
    .filter((c) => /_/.test(c) && !/^(bp|zip|verify_|error|code)/.test(c));
  const codes = new Set([...table, ...prose, 'clock_floor', 'empty_image', 'buffer_size_mismatch', 'image_too_large']);
  assert.ok(table.length >= 40, `parsed ${table.length} codes from the table`);
  for (const lang of LANGS) {
    const missing = [...codes].filter((c) => !(c in translations.codes[lang])
      && !['not_digits', 'too_long'].includes(c) /* encoder codes: never shown by the page */);
    assert.deepEqual(missing, [], `${lang} lacks translations`);
  }
});

test('every UI string exists in every language', () => {
  const keys = Object.keys(translations.ui.en);
  for (const lang of LANGS) {
    assert.deepEqual(keys.filter((k) => !(k in translations.ui[lang])), [], lang);
  }
});

test('every inspector-mode string exists in every language, and none shadows a page string', async () => {
  const { inspectorStrings } = await import(new URL('../../web/inspector-i18n.js', import.meta.url));
  const keys = Object.keys(inspectorStrings.en);
  assert.ok(keys.length > 20);
  for (const lang of LANGS) {
    assert.deepEqual(keys.filter((k) => !(k in inspectorStrings[lang])), [], lang);
    assert.deepEqual(Object.keys(inspectorStrings[lang]).filter((k) => k in translations.ui.en), [], `${lang} overrides page strings`);
  }
});
