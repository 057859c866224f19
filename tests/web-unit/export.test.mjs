// The session exports (web/export.js) with the real binding in Node (web/pkg, built by
// `cargo xtask wasm`): the CSV's cells, escaping and columns are the core's (csvRow, csvCell,
// csvColumns), the same as the CLI's batch CSV, and the fingerprint is RFC 7638's.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { sessionCsv, sessionJson } from '../../web/export.js';

const root = new URL('../../', import.meta.url);
const vector = (p) => readFile(new URL(`tests/vectors/${p}`, root), 'utf8');
let wasm;

before(async () => {
  const pkg = new URL('web/pkg/cellproof_wasm.js', root);
  try {
    wasm = await import(pkg);
    await wasm.default({ module_or_path: await readFile(new URL('web/pkg/cellproof_wasm_bg.wasm', root)) });
  } catch (e) {
    throw new Error(`web/pkg is not built: run \`cargo xtask wasm\` first (${e.message})`);
  }
});

/** A verifier holding the reference vectors' Catena-X root, trust list and status list. */
async function verifier() {
  const v = new wasm.Verifier();
  assert.equal(v.pinRoot('catena-x', await vector('roots/catena-x.jwk')).ok, true);
  assert.equal(v.loadTrustList(await vector('trust-lists/catena-x.jws')).ok, true);
  assert.equal(v.loadStatusList(await vector('status-lists/acme-3.jws')).ok, true);
  return v;
}

function parse(csv) {
  assert.ok(csv.endsWith('\r\n'));
  return csv.slice(0, -2).split('\r\n').map((line) => [...line.matchAll(/"((?:[^"]|"")*)"(?:,|$)/g)].map((m) => m[1].replace(/""/g, '"')));
}

test('the session CSV: the core columns, scan order, the verdict cells the CLI writes', async () => {
  const cases = JSON.parse(await vector('cases.json')).cases;
  const valid = cases.find((c) => c.name === 'reference-valid');
  const v = await verifier();
  const verdict = v.verify(valid.input, valid.at);
  assert.equal(verdict.overall, 'valid');
  const attack = '=HYPERLINK("http://evil.example","click")';
  const bad = v.verify(attack, valid.at);
  // Newest first, as the page keeps it; JSON round trip, as IndexedDB gives it back.
  const session = JSON.parse(JSON.stringify([
    { key: attack, input: attack, verdict: bad, at: Date.UTC(2026, 11, 7, 3, 1), seen: 1 },
    { key: valid.input, input: valid.input, verdict, at: Date.UTC(2026, 11, 7, 3, 0), seen: 3 },
  ]));
  const rows = parse(sessionCsv(session, wasm));
  assert.deepEqual(rows[0], wasm.csvColumns());
  assert.equal(rows.length, 3);
  const [line, at, seen, overall, code, , issuer, , , gtin, , revocation, , , , , stale, verifiedAt, input] = rows[1];
  assert.deepEqual([line, at, seen, overall, code], ['1', '2026-12-07T03:00:00.000Z', '3', 'valid', '']);
  assert.equal(issuer, verdict.issuer.name);
  assert.equal(gtin, verdict.claims.gtin);
  assert.equal(revocation, 'ok');
  assert.equal(stale, 'no');
  assert.equal(verifiedAt, new Date(valid.at * 1000).toISOString().replace('.000Z', 'Z'));
  assert.equal(input, valid.input);
  // Attacker text in a cell is never a formula.
  assert.equal(rows[2][0], '2');
  assert.equal(rows[2][18], `'${attack}`);
  v.free();
});

test('a stored verdict with integers beyond 2^53 exports as the CLI would', () => {
  // JavaScript copies of the cell rule wrote an empty `verified_at` for a clock floor beyond
  // 2^53 (a string in the verdict JSON); the core writes the date, the CLI too.
  const verdict = { overall: 'unverifiable', code: 'issuer_unknown', stages: [], notices: ['clock_floor'], status: [],
    data: [{ kind: 'trust_list', age: '9007199254740993', stale: true }], attestations: [], now: '9007199254740993' };
  const [, row] = parse(sessionCsv([{ input: 'x', verdict, at: 0, seen: 1 }], wasm));
  assert.equal(row[15], '9007199254740993');
  assert.equal(row[16], 'yes');
  assert.notEqual(row[17], '', 'verified_at');
  assert.equal(row[17], wasm.csvRow(1, '', 1, JSON.stringify(verdict), 'x').split(',')[17].replaceAll('"', ''));
});

test('a label without a credential exports the battery its identifier names', () => {
  // SPEC.md 2.1: a DataMatrix element string typed by a keyboard-wedge scanner (GS after a
  // variable-length value) or a plain Digital Link verifies offline to no_embedded_credential,
  // with neither claims nor scanned link: the gtin and serial cells come from label.identifier
  // (the core's csvRow, the CLI's batch CSV too), the input cell keeps the scan, GS escaped.
  const v = new wasm.Verifier();
  const inputs = ['\x5dd2010401234500001610LOT7\x1d21CPPASSVALID000', 'http://127.0.0.1:8080/01/04012345000016/21/SN%2F9'];
  const session = JSON.parse(JSON.stringify(inputs.map((input, i) => ({ key: input, input, verdict: v.verify(input, 1_796_600_000), at: 2 - i, seen: 1 }))));
  v.free();
  const rows = parse(sessionCsv(session, wasm));
  const col = (name) => rows[0].indexOf(name);
  assert.deepEqual(rows.slice(1).map((r) => [r[col('code')], r[col('gtin')], r[col('serial')], r[col('input')]]), [
    ['no_embedded_credential', '04012345000016', 'SN/9', inputs[1]],
    ['no_embedded_credential', '04012345000016', 'CPPASSVALID000', ']d2010401234500001610LOT7\\u{1d}21CPPASSVALID000'],
  ]);
  // The JSON export keeps each record as stored: the raw scan and the verdict's label.
  const scans = JSON.parse(sessionJson(session, null)).scans;
  assert.deepEqual(scans.map((s) => s.verdict.label.identifier), ['01/04012345000016/21/SN%2F9', '01/04012345000016/10/LOT7/21/CPPASSVALID000']);
});

test('the session JSON: every record in scan order with the sync time', () => {
  const session = [{ key: 'b', at: 2 }, { key: 'a', at: 1 }];
  const out = JSON.parse(sessionJson(session, 1234, new Date(0)));
  assert.deepEqual(out, { exported: '1970-01-01T00:00:00.000Z', syncedAt: 1234, scans: [{ key: 'a', at: 1 }, { key: 'b', at: 2 }] });
});

test('a root fingerprint is the RFC 7638 thumbprint', async () => {
  const jwk = JSON.parse(await vector('roots/catena-x.jwk'));
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  const expected = createHash('sha256').update(canonical).digest('base64url');
  assert.equal(wasm.jwkThumbprint(JSON.stringify(jwk)), expected);
  assert.equal(wasm.jwkThumbprint('{"kty":"RSA"}'), undefined);
});

test('recycled content beside the Art. 8 minimums: the lead minimum only for lead batteries', () => {
  const rc = JSON.stringify({ Co: [10, 8], Pb: [1, 2] });
  const li = wasm.recycledContent(rc, 'NMC811');
  assert.deepEqual(li.map((s) => [s.element, s.total, s.applies, s.meets2031]), [['Co', 18, true, true], ['Pb', 3, false, true]]);
  const pb = wasm.recycledContent(rc, 'VRLA');
  assert.deepEqual(pb.map((s) => [s.element, s.applies, s.meets2031]), [['Co', true, true], ['Pb', true, false]]);
});
