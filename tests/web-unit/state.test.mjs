// The session's pure transitions (web/state.js) under `node --test`: which scan is a repeat,
// which camera detection is the same sighting, and which clone hints a scan raises
// (docs/web.md, "Clone hints").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SAME_SIGHTING_MS, keyOf, addHint, sameSighting, frameCounts, recordScan, oldestFirst, isVerdict, mergeSession, nextSince,
} from '../../web/state.js';

const verdict = (sub, overall = 'valid') => ({ overall, stages: [], claims: sub ? { sub } : null });
const fresh = () => ({ session: [], lastKey: null });

test('a code in view is one sighting until it has been away for SAME_SIGHTING_MS', () => {
  const seen = new Map();
  assert.equal(sameSighting(seen, 'A', 1000), false, 'first detection');
  assert.equal(sameSighting(seen, 'A', 1000 + SAME_SIGHTING_MS - 1), true, 'still in view');
  // Every detection moves the window: a code held in view for a minute stays one sighting.
  assert.equal(sameSighting(seen, 'A', 1000 + 2 * SAME_SIGHTING_MS - 2), true);
  assert.equal(sameSighting(seen, 'A', 1000 + 3 * SAME_SIGHTING_MS), false, 'shown again later');
  assert.equal(sameSighting(seen, 'B', 1000 + 3 * SAME_SIGHTING_MS), false, 'another code');
});

test('a frame counts each text, trimmed; empty texts are not codes', () => {
  assert.deepEqual([...frameCounts([' A', 'A ', 'B', '', '  '])], [['A', 2], ['B', 1]]);
  assert.equal(keyOf('  x \n'), 'x');
});

test('a new code is a new row on top; the same code again is counted on its row', () => {
  const st = fresh();
  const a = recordScan(st, { key: 'A', input: 'A', verdict: verdict('01/1/21/a'), now: 1, source: 'keyboard' });
  assert.equal(a.isNew, true);
  const b = recordScan(st, { key: 'B', input: 'B', verdict: verdict('01/1/21/b'), now: 2, source: 'keyboard' });
  assert.deepEqual(st.session.map((s) => s.key), ['B', 'A']);
  // B twice in a row: a repeat, not a second label.
  const b2 = recordScan(st, { key: 'B', input: 'B', verdict: verdict('01/1/21/b', 'invalid'), now: 3, source: 'keyboard' });
  assert.equal(b2.isNew, false);
  assert.equal(b2.scan, b.scan);
  assert.deepEqual([b.scan.seen, b.scan.lastSeen, b.scan.verdict.overall, b.scan.hints], [2, 3, 'invalid', undefined]);
  // A again after B: the same credential on a second physical label.
  const a2 = recordScan(st, { key: 'A', input: 'A', verdict: verdict('01/1/21/a'), now: 4, source: 'camera' });
  assert.equal(a2.scan, a.scan);
  assert.deepEqual(a.scan.hints, ['label_again']);
  assert.equal(st.session.length, 2);
});

test('one serial under two different credentials marks both rows', () => {
  const st = fresh();
  const first = recordScan(st, { key: 'X1', input: 'X1', verdict: verdict('01/1/21/s'), now: 1, source: 'camera' });
  recordScan(st, { key: 'Y', input: 'Y', verdict: verdict('01/1/21/t'), now: 2, source: 'camera' });
  const second = recordScan(st, { key: 'X2', input: 'X2', verdict: verdict('01/1/21/s'), now: 3, source: 'camera' });
  assert.deepEqual(second.touched, [first.scan]);
  assert.deepEqual(first.scan.hints, ['serial_twice']);
  assert.deepEqual(second.scan.hints, ['serial_twice']);
  // A label whose claims did not decode has no serial to compare.
  const none = recordScan(st, { key: 'Z', input: 'Z', verdict: verdict(null), now: 4, source: 'camera' });
  assert.deepEqual(none.touched, []);
  assert.equal(none.scan.hints, undefined);
});

test('hints are kept once each', () => {
  const s = {};
  addHint(s, 'two_in_frame');
  addHint(s, 'two_in_frame');
  addHint(s, 'label_again');
  assert.deepEqual(s.hints, ['two_in_frame', 'label_again']);
});

test('scan order for exports: oldest first, a paste of several in one ms kept in its order', () => {
  // The session is newest first; three pasted in one ms were unshifted in paste order.
  const session = [{ key: 'c', at: 5 }, { key: 'b', at: 5 }, { key: 'a', at: 5 }, { key: 'z', at: 1 }];
  assert.deepEqual(oldestFirst(session).map((s) => s.key), ['z', 'a', 'b', 'c']);
  assert.deepEqual(session.map((s) => s.key), ['c', 'b', 'a', 'z'], 'the session itself is not reordered');
});

test('only a verdict object is rendered as one', () => {
  assert.equal(isVerdict({ overall: 'valid', stages: [] }), true);
  for (const x of [undefined, null, 'valid', { overall: 'valid' }, { overall: 1, stages: [] }]) assert.equal(isVerdict(x), false);
});

test('the restored log goes under the scans made while it was read; a key scanned meanwhile keeps its fresh row', () => {
  const fresh = [{ key: 'B', seen: 1, at: 9 }];
  const restored = [{ key: 'C', seen: 2, at: 5 }, { key: 'B', seen: 4, at: 3 }, { key: 'A', seen: 1, at: 1 }];
  assert.deepEqual(mergeSession(fresh, restored), [{ key: 'B', seen: 1, at: 9 }, { key: 'C', seen: 2, at: 5 }, { key: 'A', seen: 1, at: 1 }]);
  assert.deepEqual(mergeSession([], restored), restored);
});

test('the next sync asks from the registry\'s cursor, else from the newest list held, and only on top of a kept chain', () => {
  const cursor = '0123456789abcdef-42-1796169600';
  assert.equal(nextSince({ cursor, chain: 3, maxChain: 30, seconds: 1796169600 }), cursor);
  // A registry from before the cursor (none stored), or a stored value that is not one: seconds.
  assert.equal(nextSince({ cursor: null, chain: 3, maxChain: 30, seconds: 1796169600 }), '1796169600');
  for (const bad of ['0123456789ABCDEF-42-1', '0123-42-1', `${cursor}&x=1`, '../v1', 42]) {
    assert.equal(nextSince({ cursor: bad, chain: 1, maxChain: 30, seconds: 7 }), '7', String(bad));
  }
  // No chain kept (a first sync, a bundle, too many deltas): the full body.
  assert.equal(nextSince({ cursor, chain: 0, maxChain: 30, seconds: 7 }), null);
  assert.equal(nextSince({ cursor, chain: 31, maxChain: 30, seconds: 7 }), null);
  assert.equal(nextSince({ cursor: null, chain: 2, maxChain: 30, seconds: 0 }), null);
});
