// Persistence of the inspector's data in IndexedDB: the pinned roots, the lists the wasm
// verifier accepted (never unverified bytes), the sync time and the session log. Everything
// stored here is re-verified by the wasm Verifier when the page starts, which also restores the
// clock floor (SPEC.md section 5).

const DB = 'cellproof';
const STORE = 'kv';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let dbp = null;
function db() {
  dbp ??= open();
  return dbp;
}

export async function get(key) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const req = d.transaction(STORE, 'readonly').objectStore(STORE).get(key);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function put(key, value) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
