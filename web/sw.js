// Service worker: keeps the app shell and the wasm in a cache so the page starts and verifies
// with no network (inspector flow). Network first, cache as fallback: online users always get
// the current build, offline users the last one they loaded. Registry API responses (/v1/) are
// never cached here: synced trust data lives in IndexedDB, verified by the wasm before it is
// kept, and QR fragments never reach the network at all.
const CACHE = 'cellproof-shell-v2';
const SHELL = [
  '/', '/index.html', '/app.js', '/i18n.js', '/store.js', '/scanner.js', '/scan-worker.js',
  '/style.css', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png',
  '/pkg/cellproof_wasm.js', '/pkg/cellproof_wasm_bg.wasm',
];

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
  // A battery URL (/01/.../21/...) is the page itself; the fragment is not part of the request.
  const isPage = req.mode === 'navigate';
  const key = isPage ? '/index.html' : url.pathname;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok && (isPage || SHELL.includes(url.pathname))) cache.put(key, res.clone());
      return res;
    } catch (e) {
      const hit = await cache.match(key);
      if (hit) return hit;
      throw e;
    }
  })());
});
