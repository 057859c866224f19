// The page's side of the 100-million status sync (docs/BENCHMARKS.md, "Status at 100 million
// entries"), run by hand, never in CI:
//
//     cargo xtask bench-scale && cargo xtask wasm && cd tests/browser && node scale.mjs
//
// `cargo xtask bench-scale` writes the world's bodies to target/bench-scale/ (763 lists x 131,072
// entries, 1% revoked, 0.2% suspended; the next day's delta after 10,000 more revocations). This
// script serves them with the page's own files from a small node HTTP server (the bodies as
// the registry would serve them, byte for byte, without compression: the compact form does not
// compress), opens the page in headless Chromium as a first visit (it syncs: roots, the trust
// list, the full compact body; verified in wasm, stored in IndexedDB), then moves the page's
// clock a day on and syncs again (the delta, `?since=`), then reloads (everything re-verified
// from IndexedDB). Then, for comparison, a fresh context against the same files with the
// compact route answering 404 (an older registry): the page syncs the W3C bundle (served with
// gzip -6, as the registry does). Prints the page's timings, JS heap and wasm memory, IndexedDB
// usage, bytes on the wire, the file server's RSS and the machine's load.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, extname, normalize } from 'node:path';
import { loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { repo, launch } from './support/env.mjs';

const dir = join(repo, 'target/bench-scale');
for (const f of ['compact.bin', 'delta.bin', 'trust.jwt', 'roots.json']) {
  if (!existsSync(join(dir, f))) throw new Error(`${join(dir, f)} missing: run cargo xtask bench-scale first`);
}
// bench_scale.rs: the world's lists are published at T0, the delta a day later.
const T0 = 1_796_083_200;
const DAY = 86_400;
const compact = await readFile(join(dir, 'compact.bin'));
const delta = await readFile(join(dir, 'delta.bin'));
const trust = await readFile(join(dir, 'trust.jwt'));
const roots = await readFile(join(dir, 'roots.json'));
const bundleGz = gzipSync(await readFile(join(dir, 'bundle.json')), { level: 6 });
let compactRoute = true;

const web = join(repo, 'web');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json', '.json': 'application/json', '.png': 'image/png' };
const served = [];
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (type, body) => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(body);
    if (url.pathname.startsWith('/v1/')) served.push({ path: url.pathname + url.search, bytes: body.length });
  };
  try {
    if (url.pathname === '/v1/roots') return send('application/json', roots);
    if (url.pathname === '/v1/trust-list/catena-x') return send('application/jwt', trust);
    if (url.pathname === '/v1/bundle') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bundleGz.length, 'cache-control': 'no-cache' });
      res.end(bundleGz);
      served.push({ path: url.pathname, bytes: bundleGz.length });
      return undefined;
    }
    if (url.pathname === '/v1/status-compact' && compactRoute) {
      if (!url.search) return send('application/vnd.cellproof.status-compact', compact);
      if (url.search === `?since=${T0}`) return send('application/vnd.cellproof.status-compact', delta);
    }
    if (url.pathname.startsWith('/v1/')) { res.writeHead(404); return res.end(); }
    const file = normalize(join(web, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(web)) { res.writeHead(404); return res.end(); }
    return send(types[extname(file)] ?? 'application/octet-stream', await readFile(file));
  } catch {
    res.writeHead(404);
    return res.end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await launch(['--enable-precise-memory-info', '--js-flags=--expose-gc']);
const context = await browser.newContext();
// The page's clock an hour after the lists were published (their validFrom is in this
// machine's future); performance.now() is left alone.
await context.addInitScript((at) => {
  const real = Date.now.bind(Date);
  const off = at * 1000 - real();
  Date.now = () => real() + off;
}, T0 + 3600);
const page = await context.newPage();

/** The page's memory: JS heap after a GC, the wasm linear memory, IndexedDB usage (Chromium's
 * `usageDetails.indexedDB`, which leaves out the service worker's cache). */
const memory = () => page.evaluate(async () => {
  globalThis.gc?.();
  const wasm = await (await import('/pkg/cellproof_wasm.js')).default();
  const est = await navigator.storage.estimate();
  return { jsHeapUsed: performance.memory.usedJSHeapSize, wasmMemory: wasm.memory.buffer.byteLength, idbUsage: est.usageDetails?.indexedDB ?? est.usage };
});
const metrics = () => page.evaluate(() => {
  const m = window.cellproofMetrics;
  return { wasmReady: m.wasmReady, synced: m.synced, ready: m.ready, lastSync: m.lastSync, text: document.querySelector('[data-testid="sync-status"]').textContent };
});
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
const ms = (x) => `${Math.round(x)} ms`;

const load0 = loadavg();
// 1. First visit: the page syncs before it is ready.
await page.goto(`${origin}/`);
await page.waitForSelector('body[data-ready="1"]', { timeout: 600_000 });
const first = await metrics();
const firstMem = await memory();
if (first.lastSync?.via !== 'full') throw new Error(`first sync: ${JSON.stringify(first)}`);

// 2. The next day: the delta.
await page.evaluate((at) => {
  const real = performance.timeOrigin + performance.now();
  const off = at * 1000 - real;
  Date.now = () => performance.timeOrigin + performance.now() + off;
}, T0 + DAY + 3600);
const n = served.length;
await page.getByTestId('sync').click();
await page.waitForFunction(() => window.cellproofMetrics.lastSync?.via === 'delta', null, { timeout: 600_000 });
const second = await metrics();
const secondMem = await memory();

// 3. A reload: the full body and the delta from IndexedDB, verified again (no sync: the data is
// minutes old on the page's clock).
await page.reload();
await page.waitForSelector('body[data-ready="1"]', { timeout: 600_000 });
const third = await metrics();
const thirdMem = await memory();
const chain = await page.evaluate(async () => ((await (await import('/store.js')).get('trust'))?.chain ?? []).map((b) => b.byteLength));
if (chain.length !== 2) throw new Error(`stored chain: ${chain}`);

// 4. The W3C bundle instead (the compact route gone): a first visit in a fresh context.
compactRoute = false;
const bundleContext = await browser.newContext();
await bundleContext.addInitScript((at) => {
  const real = Date.now.bind(Date);
  const off = at * 1000 - real();
  Date.now = () => real() + off;
}, T0 + 3600);
const bundlePage = await bundleContext.newPage();
const m = served.length;
await bundlePage.goto(`${origin}/`);
await bundlePage.waitForSelector('body[data-ready="1"]', { timeout: 600_000 });
const w3c = await bundlePage.evaluate(() => ({ ready: window.cellproofMetrics.ready, lastSync: window.cellproofMetrics.lastSync }));
const w3cMem = await bundlePage.evaluate(async () => {
  globalThis.gc?.();
  const wasm = await (await import('/pkg/cellproof_wasm.js')).default();
  const est = await navigator.storage.estimate();
  return { jsHeapUsed: performance.memory.usedJSHeapSize, wasmMemory: wasm.memory.buffer.byteLength, idbUsage: est.usageDetails?.indexedDB ?? est.usage };
});
if (w3c.lastSync?.via !== 'bundle' || w3c.lastSync.statusLists !== first.lastSync.statusLists) throw new Error(`bundle sync: ${JSON.stringify(w3c)}`);
const load1 = loadavg();
const rss = process.memoryUsage().rss;

const out = {
  lists: first.lastSync.statusLists,
  firstVisit: { readyMs: first.ready, wasmReadyMs: first.wasmReady, syncedMs: first.synced, ...first.lastSync, memory: firstMem },
  delta: { ...second.lastSync, requests: served.slice(n), memory: secondMem },
  reload: { readyMs: third.ready, wasmReadyMs: third.wasmReady, storedChainBytes: chain, memory: thirdMem },
  bundle: { readyMs: w3c.ready, ...w3c.lastSync, requests: served.slice(m), memory: w3cMem },
  wire: served.slice(0, n),
  fileServerRssBytes: rss,
  loadavg: { before: load0, after: load1 },
};
console.log(JSON.stringify(out, null, 2));
console.log(`# scale: ${out.lists} status lists held; compact body ${compact.length} B, delta ${delta.length} B, trust list ${trust.length} B`);
console.log(`# scale: first visit: ready ${ms(first.ready)} after navigation start (wasm ready ${ms(first.wasmReady)}); `
  + `sync fetch ${ms(first.lastSync.fetchMs)}, verify ${ms(first.lastSync.verifyMs)}, store ${ms(first.lastSync.storeMs)}; `
  + `JS heap ${mib(firstMem.jsHeapUsed)}, wasm memory ${mib(firstMem.wasmMemory)}, IndexedDB ${mib(firstMem.idbUsage)}`);
console.log(`# scale: next-day delta: fetch ${ms(second.lastSync.fetchMs)}, verify ${ms(second.lastSync.verifyMs)}, store ${ms(second.lastSync.storeMs)}; `
  + `JS heap ${mib(secondMem.jsHeapUsed)}, wasm memory ${mib(secondMem.wasmMemory)}, IndexedDB ${mib(secondMem.idbUsage)}`);
console.log(`# scale: reload from IndexedDB: ready ${ms(third.ready)} (wasm ready ${ms(third.wasmReady)}); wasm memory ${mib(thirdMem.wasmMemory)}`);
console.log(`# scale: W3C bundle instead (${bundleGz.length} B gzip): first visit ready ${ms(w3c.ready)}; sync fetch ${ms(w3c.lastSync.fetchMs)}, `
  + `verify ${ms(w3c.lastSync.verifyMs)}, store ${ms(w3c.lastSync.storeMs)}; JS heap ${mib(w3cMem.jsHeapUsed)}, wasm memory ${mib(w3cMem.wasmMemory)}, IndexedDB ${mib(w3cMem.idbUsage)}`);
console.log(`# scale: file server RSS ${mib(rss)}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} -> ${load1.map((x) => x.toFixed(2)).join(' ')}`);
await browser.close();
server.close();
