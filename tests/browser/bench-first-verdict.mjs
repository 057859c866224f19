// The phone-profile first verdict, measured from outside the page (issue 16; docs/BENCHMARKS.md,
// "First verdict on a phone profile"). Not a test: a wall-clock figure depends on the machine's
// load, so the default suite asserts only the byte budget (weight.test.mjs) and this script is
// run by hand:
//
//     cargo xtask bench-first-verdict [RUNS]     # builds web/pkg and the release server
//     cd tests/browser && node bench-first-verdict.mjs [RUNS]   # CELLPROOF_SERVER_BIN=...
//
// Each run is a consumer's first visit of the demo's valid sample in a fresh context (empty
// HTTP cache, no service worker, no IndexedDB) with mobile emulation on (`isMobile`, touch,
// 390 x 844 CSS px at 3x), 4x CPU slowdown, 150 ms round trip, 1.6 Mbit/s down and 750 kbit/s
// up. An observer installed with `addInitScript`, so before any of the page's scripts, notes the
// moment the verdict element (`data-testid="verdict"`) gets a non-empty `data-overall`, as
// `performance.now()`: milliseconds after navigation start, whatever the page itself reports.
// It notes the next animation frame after it too (the verdict on screen), and the page's own
// metric (`cellproofMetrics.firstVerdict`) is printed beside both, so the three can be compared.
// Prints every run, then the p50 over the runs and the machine's load average.
import { loadavg, cpus } from 'node:os';
import { startServer, launch } from './support/env.mjs';

const RUNS = Number(process.argv[2] ?? 7);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`usage: node bench-first-verdict.mjs [RUNS], got ${process.argv[2]}`);

/** Installed before the page's scripts: the first time the verdict element gets a value. */
function observeVerdict() {
  const seen = { value: null, frame: null, overall: null };
  Object.defineProperty(window, '__benchVerdict', { value: seen });
  const check = () => {
    if (seen.value !== null) return;
    const v = document.querySelector('[data-testid="verdict"]');
    const overall = v?.getAttribute('data-overall');
    if (!overall) return;
    seen.value = performance.now();
    seen.overall = overall;
    requestAnimationFrame(() => { seen.frame = performance.now(); });
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-overall'] });
}

async function firstVerdict(browser, url) {
  const context = await browser.newContext({
    isMobile: true, hasTouch: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 3,
  });
  try {
    await context.addInitScript(observeVerdict);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 150, downloadThroughput: 200_000, uploadThroughput: 93_750,
    });
    await page.goto(url);
    await page.waitForFunction(() => window.__benchVerdict?.frame != null, null, { timeout: 60_000 });
    return await page.evaluate(() => ({ ...window.__benchVerdict, own: window.cellproofMetrics?.firstVerdict ?? null }));
  } finally {
    await context.close();
  }
}

const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => (x == null ? '-' : `${Math.round(x)} ms`);

const server = await startServer();
const browser = await launch();
try {
  const url = server.sample('valid');
  const load = loadavg();
  console.log(`first verdict, phone profile, measured from outside: ${RUNS} runs of ${url.split('#')[0]}`);
  console.log(`machine: ${cpus().length} cores, load average before ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await firstVerdict(browser, url);
    if (r.overall !== 'valid') throw new Error(`run ${i + 1}: verdict ${r.overall}, not valid`);
    runs.push(r);
    console.log(`run ${i + 1}: verdict set ${ms(r.value)}, next frame ${ms(r.frame)}, page's own metric ${ms(r.own)}`);
  }
  const own = runs.map((r) => r.own).filter((x) => x != null);
  console.log(`p50 over ${RUNS} runs: verdict set ${ms(p50(runs.map((r) => r.value)))}, next frame ${ms(p50(runs.map((r) => r.frame)))}, page's own metric ${own.length ? ms(p50(own)) : '-'}`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await browser.close();
  await server.cleanup();
}
