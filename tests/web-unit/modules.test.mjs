// The page's module graph (docs/web.md, "Modules"), read from the sources: what the first
// verdict needs is imported statically from app.js and preloaded by index.html, everything else
// is a dynamic import (a consumer's first visit never fetches it), and the service worker
// caches every module so the page starts offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';

const web = new URL('../../web/', import.meta.url);
const source = (f) => readFile(new URL(f, web), 'utf8');

/** `{statics, dynamics}` of one module: the page's own files, as `/name.js`. */
async function importsOf(file) {
  const text = await source(file);
  const own = (spec) => (spec.startsWith('./') || spec.startsWith('/')) && !spec.includes('pkg/') ? `/${spec.replace(/^\.?\//, '')}` : null;
  const statics = [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms), ...text.matchAll(/^import\s+'([^']+)'/gm)]
    .map((m) => own(m[1])).filter(Boolean);
  const dynamics = [...text.matchAll(/import\('([^']+)'\)/g)].map((m) => own(m[1])).filter(Boolean);
  return { statics, dynamics };
}

/** Every page module reachable from app.js by static imports. */
async function staticGraph() {
  const seen = new Set(['/app.js']);
  const todo = ['/app.js'];
  while (todo.length) {
    const { statics } = await importsOf(todo.pop().slice(1));
    for (const m of statics) if (!seen.has(m)) { seen.add(m); todo.push(m); }
  }
  return seen;
}

const LATER = ['/i18n-de.js', '/i18n-ja.js', '/passport-panel.js', '/resolve.js', '/roots.js', '/export.js', '/pack.js', '/camera.js', '/scanner.js', '/inspector.js', '/inspector-i18n.js'];

test('the first verdict loads only what it needs; the rest is a dynamic import', async () => {
  const graph = await staticGraph();
  for (const m of LATER) assert.ok(!graph.has(m), `${m} is in app.js's static graph: ${[...graph].join(' ')}`);
  for (const m of ['/state.js', '/format.js', '/sync.js', '/verify.js', '/verdict-view.js', '/i18n.js', '/store.js']) {
    assert.ok(graph.has(m), `${m} missing from the static graph`);
  }
  // Each later module is reached by a dynamic import somewhere.
  const dynamic = new Set();
  for (const f of (await readdir(web)).filter((f) => f.endsWith('.js') && f !== 'sw.js' && f !== 'scan-worker.js')) {
    for (const m of (await importsOf(f)).dynamics) dynamic.add(m);
  }
  for (const m of LATER.filter((x) => x !== '/inspector-i18n.js')) assert.ok(dynamic.has(m), `nothing imports ${m}`);
});

test('index.html preloads the static graph, and nothing the first verdict does not need', async () => {
  const html = await source('index.html');
  const preloaded = new Set([...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1]).filter((h) => !h.startsWith('/pkg/')));
  const graph = await staticGraph();
  graph.delete('/app.js'); // the script tag itself
  assert.deepEqual([...preloaded].sort(), [...graph].sort());
});

test('the service worker caches every page module', async () => {
  const sw = await source('sw.js');
  const cached = new Set([...sw.matchAll(/'(\/[^']+\.js)'/g)].map((m) => m[1]));
  const modules = (await readdir(web)).filter((f) => f.endsWith('.js') && f !== 'sw.js').map((f) => `/${f}`);
  for (const m of modules) assert.ok(cached.has(m), `${m} is not in sw.js`);
});
