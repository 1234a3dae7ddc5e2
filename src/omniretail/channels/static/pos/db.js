// The till's IndexedDB: settings (kv), the catalog and customers kept
// offline, the outbox of sales waiting for the server, and what was sent.

const NAME = "omni-pos";
const VERSION = 1;
let opened = null;

export function openDb() {
  if (opened) return opened;
  opened = new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("kv");
      const variants = db.createObjectStore("variants", { keyPath: "id" });
      variants.createIndex("barcode", "barcode");
      variants.createIndex("sku", "sku");
      db.createObjectStore("customers", { keyPath: "id" });
      db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      db.createObjectStore("sent", { keyPath: "client_uuid" });
      db.createObjectStore("rejected", { keyPath: "client_uuid" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opened;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function kvGet(key, fallback = null) {
  const db = await openDb();
  const value = await request(db.transaction("kv").objectStore("kv").get(key));
  return value === undefined ? fallback : value;
}

export async function kvSet(key, value) {
  const db = await openDb();
  const tx = db.transaction("kv", "readwrite");
  tx.objectStore("kv").put(value, key);
  return done(tx);
}

export async function all(store) {
  const db = await openDb();
  return request(db.transaction(store).objectStore(store).getAll());
}

export async function get(store, key) {
  const db = await openDb();
  return request(db.transaction(store).objectStore(store).get(key));
}

export async function byIndex(store, index, key) {
  const db = await openDb();
  return request(db.transaction(store).objectStore(store).index(index).get(key));
}

export async function put(store, value) {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  const key = request(tx.objectStore(store).put(value));
  await done(tx);
  return key;
}

export async function remove(store, key) {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).delete(key);
  return done(tx);
}

export async function count(store) {
  const db = await openDb();
  return request(db.transaction(store).objectStore(store).count());
}

// Replace or merge rows of a feed in one transaction.
export async function applyFeed(store, rows, reset) {
  const db = await openDb();
  const tx = db.transaction(store, "readwrite");
  const os = tx.objectStore(store);
  if (reset) os.clear();
  for (const row of rows) os.put(row);
  return done(tx);
}

// Number, chain and queue an offline sale atomically with the counter, so
// two sales can never take the same number.
export async function queueSale(sale) {
  const db = await openDb();
  const tx = db.transaction(["outbox", "kv"], "readwrite");
  const seq = request(tx.objectStore("outbox").add(sale));
  tx.objectStore("kv").put({ next: sale.offline.receipt_number + 1, head: sale.offline.hash }, "series");
  await done(tx);
  return seq;
}
