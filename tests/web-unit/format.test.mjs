// The page's pure wording and parsing helpers (web/format.js), under `node --test`: no browser,
// no wasm. The English strings of web/i18n.js are the expected words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fmtAge, ageOf, dataAgeText, shortFingerprint, rootsKey, offeredRoots, itemPath,
  packItems, passportPath, b64uBytes, claimWords, claimMark, attestationCounts, stamp, obj, num,
} from '../../web/format.js';

test('age wording: seconds, minutes, hours, days at their boundaries', () => {
  assert.equal(fmtAge(0), '0 s old');
  assert.equal(fmtAge(119), '119 s old');
  assert.equal(fmtAge(120), '2 min old');
  assert.equal(fmtAge(2 * 3600 - 1), '120 min old');
  assert.equal(fmtAge(2 * 3600), '2 h old');
  assert.equal(fmtAge(2 * 86400), '2 days old');
  // An age beyond 2^53 arrives as a decimal string (docs/verdict-json.md).
  assert.equal(fmtAge('9007199254740993'), `${Math.round(9007199254740993 / 86400)} days old`);
});

test('data age: the oldest list of each kind, stale when any is', () => {
  const ages = [
    { kind: 'trust_list', age: 30, stale: false },
    { kind: 'trust_list', age: 7200, stale: false },
    { kind: 'status_list', age: 600, stale: true },
  ];
  assert.deepEqual(ageOf(ages, 'trust_list'), { text: '2 h old', stale: false });
  assert.deepEqual(ageOf(ages, 'status_list'), { text: '10 min old — STALE', stale: true });
  assert.deepEqual(ageOf([], 'status_list'), { text: 'none', stale: false });
  assert.deepEqual(dataAgeText(ages), { text: 'Data used: trust lists 2 h old, status lists 10 min old — STALE.', stale: true });
  // No data at all is stale: a verdict without lists is never shown as fresh.
  assert.deepEqual(dataAgeText([]), { text: 'No trust data on this device yet.', stale: true });
  assert.equal(dataAgeText(null).stale, true);
});

test('fingerprints: four hex groups of a thumbprint, nothing for what is not one', () => {
  // RFC 8037 appendix A.3's thumbprint.
  assert.equal(shortFingerprint('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'), '90fa cafe a9b1 5566');
  assert.equal(shortFingerprint(''), '');
  assert.equal(shortFingerprint('not base64url!'), '');
  assert.equal(shortFingerprint(null), '');
});

test('roots: compared by ecosystem and key, in any order; offered roots need both', () => {
  const a = [{ eco: 'ouranos', root: { x: 'B' } }, { eco: 'catena-x', root: { x: 'A' } }];
  const b = [{ eco: 'catena-x', root: { x: 'A' } }, { eco: 'ouranos', root: { x: 'B' } }];
  assert.equal(rootsKey(a), rootsKey(b));
  assert.notEqual(rootsKey(a), rootsKey([{ eco: 'catena-x', root: { x: 'A' } }, { eco: 'ouranos', root: { x: 'C' } }]));
  assert.deepEqual(offeredRoots({ roots: [{ eco: 'x' }, { root: {} }, null, { eco: 'y', root: { x: 'k' } }] }), [{ eco: 'y', root: { x: 'k' } }]);
  assert.deepEqual(offeredRoots(null), []);
  assert.deepEqual(offeredRoots({ roots: 'no' }), []);
});

test('pack items: labels, paths and URLs, each once; anything else ignored', () => {
  assert.equal(itemPath('https://id.example/01/04012345000016/21/SN%2F1#0123'), '01/04012345000016/21/SN%2F1');
  assert.equal(itemPath('  01/04012345000016/21/A1?x=1'), '01/04012345000016/21/A1');
  assert.equal(itemPath('01/0401234500001/21/A1'), null, 'a GTIN of 13 digits');
  assert.equal(itemPath('x01/04012345000016/21/A1'), null);
  assert.deepEqual(packItems('01/04012345000016/21/A1\r\nhttps://x/01/04012345000016/21/A1#9, 01/04012345000016/21/B2,,junk'),
    ['01/04012345000016/21/A1', '01/04012345000016/21/B2']);
  assert.deepEqual(packItems(''), []);
});

test('passport path from the claims', () => {
  assert.equal(passportPath({ gtin: '04012345000016', sub: '01/04012345000016/21/SN1' }), '/v1/passports/04012345000016/SN1');
  assert.equal(passportPath({ gtin: '04012345000016', sub: 'nonsense' }), null);
  assert.equal(passportPath(null), null);
});

test('base64url bytes: unpadded only', () => {
  assert.deepEqual([...b64uBytes('AQID')], [1, 2, 3]);
  assert.deepEqual([...b64uBytes('_-8')], [255, 239]);
  assert.equal(b64uBytes('AQID='), null);
  assert.equal(b64uBytes('A+/B'), null);
  assert.equal(b64uBytes('ABCDE'), null);
  assert.equal(b64uBytes(42), null);
});

test('attestation words: icon and word for every outcome, never colour alone', () => {
  const verified = claimWords({ topic: 'sourcing.due-diligence', materials: ['Co'], outcome: 'verified', issuerName: 'TÜV',
    eco: 'catena-x', path: 'ouranos, recognised by catena-x', validUntil: 1_800_000_000 });
  assert.equal(verified.icon, '✓');
  assert.match(verified.topic, /cobalt/i);
  assert.match(verified.line, /TÜV/);
  assert.match(verified.line, /Catena-X/);
  assert.match(verified.line, /2027/);
  assert.equal(claimWords({ topic: 'x.y', outcome: 'declared' }).icon, '•');
  const failed = claimWords({ topic: 'content.recycled', outcome: 'failed', code: 'attestation_revoked' });
  assert.equal(failed.icon, '✗');
  assert.equal(claimWords({ topic: 't', outcome: 'something new' }).icon, '?');
  assert.match(claimMark(null), /^• /);
  assert.match(claimMark({ outcome: 'verified' }), /^✓ /);
  assert.match(claimMark({ outcome: 'failed' }), /^✗ /);
});

test('attestation counts: verified over listed, declared claims not counted', () => {
  assert.deepEqual(attestationCounts({ attestations: [{ outcome: 'verified' }, { outcome: 'declared' }, { outcome: 'failed' }] }), { verified: 1, listed: 2 });
  assert.equal(attestationCounts({ attestations: [{ outcome: 'declared' }] }), null);
  assert.equal(attestationCounts({}), null);
});

test('small helpers', () => {
  assert.equal(stamp(new Date(Date.UTC(2026, 11, 7, 3, 4, 5, 6))), '2026-12-07T03-04-05-006Z');
  assert.deepEqual(obj([1]), {});
  assert.deepEqual(obj(null), {});
  assert.deepEqual(obj({ a: 1 }), { a: 1 });
  assert.equal(num(1234.5, 'kWh'), '1,234.5 kWh');
  assert.equal(num('12', 'kg'), null);
});
