// Shared test setup: start the registry with --demo on a free port (the real
// cellproof-server; the stub only with CELLPROOF_E2E_STUB=1), read its demo manifest, launch
// Debian's Chromium through playwright-core with the flags this machine needs.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** Where tests write screenshots: under the target directory, never into the tracked tree. */
export const screenshots = join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'browser-screenshots');
mkdirSync(screenshots, { recursive: true });
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const BASE_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function serverCommand() {
  if (process.env.CELLPROOF_E2E_STUB === '1') {
    return [process.execPath, [join(repo, 'tests/browser/support/stub-server.mjs')]];
  }
  const candidates = [process.env.CELLPROOF_SERVER_BIN,
    join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/cellproof-server'),
    join(repo, 'target/debug/cellproof-server')].filter(Boolean);
  const bin = candidates.find((p) => existsSync(p));
  if (!bin) throw new Error(`cellproof-server not built (looked at ${candidates.join(', ')}); run cargo build -p cellproof-server`);
  return [bin, []];
}

/** Starts the registry with --demo; resolves to {url, manifest, stop()}. */
export async function startServer() {
  const port = await freePort();
  const data = await mkdtemp(join(tmpdir(), 'cellproof-e2e-'));
  const [cmd, pre] = serverCommand();
  const child = spawn(cmd, [...pre, '--data', data, '--listen', `127.0.0.1:${port}`, '--demo'], {
    cwd: repo, stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = null;
  child.on('exit', (code) => { exited = code ?? -1; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  let manifest = null;
  while (Date.now() < deadline && exited === null) {
    try {
      manifest = JSON.parse(await readFile(join(data, 'demo/manifest.json'), 'utf8'));
      const res = await fetch(`${url}/`);
      if (res.ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!manifest || exited !== null) throw new Error(`server did not start (exit ${exited})`);
  let stopped = false;
  return {
    url, manifest, data,
    sample(...names) {
      for (const n of names) {
        const s = manifest.samples.find((x) => x.name === n);
        if (s) return s.url;
      }
      return null;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exited === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { if (exited !== null) r(); else child.on('exit', r); });
      }
    },
    async cleanup() { await this.stop(); await rm(data, { recursive: true, force: true }); },
  };
}

/** Launches headless Chromium; extra flags for the fake camera. */
export function launch(extra = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_FLAGS, ...extra] });
}

/** Launches headless Chromium with a fake camera that plays the Y4M file `video`. */
export function launchWithCamera(video) {
  return launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`]);
}

/** Waits for a final verdict (data-overall set) and returns {overall, code, age, text}. */
export async function verdictOf(page) {
  const v = page.getByTestId('verdict');
  await page.waitForSelector('[data-testid="verdict"][data-overall]:not([data-overall=""])', { timeout: 30_000 });
  return {
    overall: await v.getAttribute('data-overall'),
    code: await v.getAttribute('data-code'),
    age: await page.getByTestId('data-age').textContent(),
    text: await v.textContent(),
  };
}

export async function pageReady(page) {
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
}

/** Registers `before`/`after` hooks that start the registry and Chromium for one test file;
 * the returned object's `server` and `browser` are set once `before` has run. */
export function useServerAndBrowser() {
  const env = {};
  before(async () => {
    env.server = await startServer();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.cleanup();
  });
  return env;
}
