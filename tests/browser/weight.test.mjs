// Consumer weight (issue 7): a first visit of the consumer flow (the QR URL opens the page,
// which syncs, verifies and shows the verdict) moves at most 250 KB over the wire and never
// fetches the QR decoder. The time to the first verdict on a phone profile is no assertion
// here (a wall-clock limit failed under a loaded machine's scheduling, issue 16): it is
// `bench-first-verdict.mjs`, run by hand, with its figure in docs/BENCHMARKS.md. Bytes are CDP's
// `encodedDataLength` (headers and body as received) of every request the page started before
// its verdict was on screen (what it fetches later, like the full passport, is listed apart);
// figures go to docs/web.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, verdictOf, pageReady } from './support/env.mjs';

const env = useServerAndBrowser();

const BUDGET_BYTES = 250_000;
const DECODER = /\/pkg\/(cellproof_decode(_bg\.wasm|\.js)|zxing-wasm\/.*)$/;

/** Opens `url` in a fresh context (empty HTTP cache, no service worker, no IndexedDB) and
 * returns what crossed the network up to the verdict and the verdict. */
async function firstVisit(url) {
  const context = await env.browser.newContext();
  const everything = []; // every request of the context: page, workers, service worker
  context.on('request', (r) => everything.push(r.url()));
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const requests = new Map();
  // `wallTime` is the browser's clock, like the page's `performance.timeOrigin` below.
  cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, { url: e.request.url, bytes: 0, encoding: '', at: e.wallTime * 1000 }));
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.encoding = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '';
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  await page.goto(url);
  const verdict = await verdictOf(page);
  await pageReady(page);
  // The first verdict's time: ms after navigation start, and as wall-clock time.
  const { ms, wall } = await page.evaluate(() => {
    const first = window.cellproofMetrics.firstVerdict ?? window.cellproofMetrics.lastVerdict;
    return { ms: first, wall: performance.timeOrigin + first };
  });
  const all = [...requests.values()];
  const loaded = all.filter((r) => r.at <= wall);
  const later = all.filter((r) => r.at > wall);
  const bytes = loaded.reduce((a, r) => a + r.bytes, 0);
  // Let the service worker install (it caches the app shell) before looking for the decoder.
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cached = await page.evaluate(async () => {
    const keys = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) keys.push(req.url);
    }
    return keys;
  });
  await context.close();
  return { verdict, ms, bytes, loaded, later, everything, cached };
}

function table(loaded) {
  return loaded
    .map((r) => `${new URL(r.url).pathname} ${r.bytes} B${r.encoding ? ` (${r.encoding})` : ''}`)
    .join('; ');
}

test('consumer first visit stays within 250 KB and never fetches the decoder', async () => {
  const r = await firstVisit(env.server.sample('valid'));
  assert.equal(r.verdict.overall, 'valid');
  console.log(`# figures: consumer first visit: ${r.bytes} B over the wire in ${r.loaded.length} requests: ${table(r.loaded)}`);
  console.log(`# figures: after the verdict (not counted): ${table(r.later) || 'nothing'}`);
  assert.ok(r.bytes <= BUDGET_BYTES, `${r.bytes} B > ${BUDGET_BYTES} B: ${table(r.loaded)}`);
  // The decoder is fetched only by scanning: not by the page, not by the service worker.
  assert.deepEqual(r.everything.filter((u) => DECODER.test(new URL(u).pathname)), []);
  assert.deepEqual(r.cached.filter((u) => DECODER.test(new URL(u).pathname)), []);
  // The service worker did cache the verifier: the check above looked at a real cache.
  assert.ok(r.cached.some((u) => u.endsWith('/pkg/cellproof_wasm_bg.wasm')), r.cached.join(' '));
  // The wasm came compressed (precompressed brotli or gzip from `cargo xtask web`).
  const wasm = r.loaded.find((x) => x.url.endsWith('/pkg/cellproof_wasm_bg.wasm'));
  assert.ok(wasm, 'the verifier wasm was loaded');
  assert.match(wasm.encoding, /^(br|gzip)$/);
});
