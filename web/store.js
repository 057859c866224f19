// Persistence of the inspector's data in IndexedDB: the pinned roots, the lists the wasm
// verifier accepted (never unverified bytes), the compact status bodies it accepted, as received
// (`trust.chain`: the full body, then the deltas; docs/web.md, "Sync"), the sync time, a
// roots-changed warning, and the session log. Everything stored here is re-verified by the wasm
// Verifier when the page starts, which also restores the clock floor (SPEC.md section 5).
//
// The session log is one record per scan in its own object store, written incrementally: a
// scan (or a repeat of one) writes its own record only, never the whole session (a dealer's day
// of scans rewritten on every scan was quadratic).

const DB = 'cellproof';
const KV = 'kv';
const SCANS = 'scans';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(KV)) db.createObjectStore(KV);
      if (!db.objectStoreNames.contains(SCANS)) db.createObjectStore(SCANS, { keyPath: 'key' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let dbp = null;
function db() {
  dbp ??= open();
  return dbp;
}

function request(storeName, mode, fn) {
  return db().then((d) => new Promise((resolve, reject) => {
    const tx = d.transaction(storeName, mode);
    const req = fn(tx.objectStore(storeName));
    let result;
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}

/** A value of the key-value store (`trust`, `rootsWarning`, ...). */
export function get(key) {
  return request(KV, 'readonly', (s) => s.get(key));
}

export function put(key, value) {
  return request(KV, 'readwrite', (s) => { s.put(value, key); });
}

export function del(key) {
  return request(KV, 'readwrite', (s) => { s.delete(key); });
}

/** Writes one scan record (`{key, ...}`), new or updated. */
export function putScan(scan) {
  return request(SCANS, 'readwrite', (s) => { s.put(scan); });
}

/** Every scan record, in no particular order. */
export function allScans() {
  return request(SCANS, 'readonly', (s) => s.getAll());
}

export function clearScans() {
  return request(SCANS, 'readwrite', (s) => { s.clear(); });
}
