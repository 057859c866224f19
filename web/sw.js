// Service worker: keeps the app shell and the wasm in a cache so the page starts and verifies
// with no network (inspector flow). Network first, cache as fallback: online users always get
// the current build, offline users the last one they loaded. Registry API responses (/v1/) are
// never cached here: synced trust data lives in IndexedDB, verified by the wasm before it is
// kept, and QR fragments never reach the network at all. Nor are the answers of online
// resolution (web/resolve.js: linksets, passports, chains, from this registry or any other):
// those requests say `cache: 'no-store'` and are left to the network.
const CACHE = 'cellproof-shell-v6';
const SHELL = [
  '/', '/index.html', '/app.js', '/i18n.js', '/i18n-de.js', '/i18n-ja.js', '/store.js', '/scanner.js', '/scan-worker.js',
  // app.js's modules (docs/web.md, "Modules"), those loaded after the first verdict included.
  '/state.js', '/format.js', '/dom.js', '/sync.js', '/verify.js', '/verdict-view.js', '/session.js',
  '/passport-panel.js', '/roots.js', '/export.js', '/pack.js', '/camera.js',
  '/style.css', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png',
  '/pkg/cellproof_wasm.js', '/pkg/cellproof_wasm_bg.wasm',
];
// The QR decoder is not part of the install: a consumer who opens a battery URL never scans,
// so their phone never downloads it (docs/web.md, "Two modules"). It is kept once the camera
// has fetched it, so scanning works offline after the camera was used online once.
// Inspector mode's files (web/inspector.js and its wasm module) are kept the same way: an
// inspector enters the mode online before going out, and it works offline from then on.
const ON_USE = ['/pkg/cellproof_decode.js', '/pkg/cellproof_decode_bg.wasm', '/inspector.js', '/inspector-i18n.js', '/inspector.css',
  '/pkg/cellproof_inspect.js', '/pkg/cellproof_inspect_bg.wasm',
  // Online resolution (web/resolve.js and its wasm module): only ever used online, kept on use.
  '/resolve.js', '/pkg/cellproof_resolve.js', '/pkg/cellproof_resolve_bg.wasm',
  // The scanner worker's first decoder, zxing-cpp as WebAssembly (npm zxing-wasm, MIT; copied
  // here by `cargo xtask wasm`, docs/qr-decoder.md): kept like our decoder, on first use.
  '/pkg/zxing-wasm/es/reader/index.js', '/pkg/zxing-wasm/es/share.js', '/pkg/zxing-wasm/reader/zxing_reader.wasm'];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  // Online resolution asks with `cache: 'no-store'`: the network's answer only, never stored,
  // never answered from the cache.
  if (req.cache === 'no-store') return;
  // Only the known shell files are cached, each under its own URL. A navigation anywhere else
  // (a battery URL, /metrics, whatever the server answers) is never stored: stored as the page,
  // one visit to /metrics used to replace the offline page. Offline, a navigation falls back to
  // the cached index.html (a battery URL is the page itself; its fragment is not in the request).
  const known = SHELL.includes(url.pathname) || ON_USE.includes(url.pathname);
  const isPage = req.mode === 'navigate';
  if (!known && !isPage) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (known && res.ok && res.type === 'basic' && !res.redirected) await cache.put(url.pathname, res.clone());
      return res;
    } catch (e) {
      const hit = (known && await cache.match(url.pathname)) || (isPage && await cache.match('/index.html'));
      if (hit) return hit;
      throw e;
    }
  })());
});
