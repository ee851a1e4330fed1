// The browser's local copies, in IndexedDB: every document a person opened (its whole yrs
// state, and the edits the server has not acknowledged since that state was written), the
// projects they opened (what the IDE needs to show its tree offline) and chat messages written
// offline. Plain storage only: what to evict is decided in Rust (`offline::budget`).
//
// One database per browser profile, "tandem-local"; every record names its user, and signing
// out deletes the database.

const DB = "tandem-local";
const VERSION = 1;
let opening = null;

function open() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      // key: "<user>/<doc>"; {key, user, project, doc, name, state, pending, bytes, usedAt}
      db.createObjectStore("docs", { keyPath: "key" });
      // Local edits not yet folded into the doc's state: {key, update} by auto-increment id.
      db.createObjectStore("edits", { autoIncrement: true }).createIndex("key", "key");
      // key: "<user>/<project>"; {key, user, project, name, json, usedAt}
      db.createObjectStore("projects", { keyPath: "key" });
      // Chat messages written offline: {user, project, client, text, at} by auto-increment id.
      db.createObjectStore("chat", { autoIncrement: true });
    };
    req.onsuccess = () => {
      const db = req.result;
      // Another tab deleting the database (sign-out) must not wait for this one.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
    req.onblocked = () => console.warn("local copies: the database is held by an older tab");
  });
  return opening;
}

const done = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const finished = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });

/** A document's copy: `{state, edits: [Uint8Array], pending, project, name}` or null. */
export async function getDoc(key) {
  const db = await open();
  const tx = db.transaction(["docs", "edits"], "readonly");
  const doc = await done(tx.objectStore("docs").get(key));
  const edits = await done(tx.objectStore("edits").index("key").getAll(key));
  if (!doc && edits.length === 0) return null;
  return {
    state: doc ? doc.state : null,
    edits: edits.map((e) => e.update),
    pending: doc ? doc.pending : edits.length,
    project: doc ? doc.project : 0,
    name: doc ? doc.name : "",
  };
}

/**
 * Writes a document's whole state, replacing the edits appended before it (they are in the
 * state), and marks it used now. `pending`: local edits the server has not acknowledged.
 */
export async function putDoc(key, user, project, doc, name, state, pending) {
  const db = await open();
  const tx = db.transaction(["docs", "edits"], "readwrite");
  tx.objectStore("docs").put({
    key, user, project, doc, name, state, pending,
    bytes: state.byteLength, usedAt: Date.now(),
  });
  const edits = tx.objectStore("edits");
  for (const id of await done(edits.index("key").getAllKeys(key))) edits.delete(id);
  await finished(tx);
}

/** Appends one local edit at once (the whole state follows a moment later). */
export async function appendEdit(key, update) {
  const db = await open();
  const tx = db.transaction("edits", "readwrite");
  tx.objectStore("edits").add({ key, update });
  await finished(tx);
}

/** The server acknowledged everything: the copy has no edits waiting. */
export async function markSent(key) {
  const db = await open();
  const tx = db.transaction("docs", "readwrite");
  const store = tx.objectStore("docs");
  const doc = await done(store.get(key));
  if (doc && doc.pending !== 0) store.put({ ...doc, pending: 0 });
  await finished(tx);
}

/** Every document copy's bookkeeping, without the states: `[{key, user, project, doc, name, bytes, pending, usedAt}]`. */
export async function listDocs() {
  const db = await open();
  const tx = db.transaction("docs", "readonly");
  const out = [];
  await new Promise((resolve, reject) => {
    const req = tx.objectStore("docs").openCursor();
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return resolve();
      const { key, user, project, doc, name, bytes, pending, usedAt } = c.value;
      out.push({ key, user, project, doc, name, bytes, pending, usedAt });
      c.continue();
    };
    req.onerror = () => reject(req.error);
  });
  return out;
}

export async function deleteDocs(keys) {
  const db = await open();
  const tx = db.transaction(["docs", "edits"], "readwrite");
  const edits = tx.objectStore("edits");
  for (const key of keys) {
    tx.objectStore("docs").delete(key);
    for (const id of await done(edits.index("key").getAllKeys(key))) edits.delete(id);
  }
  await finished(tx);
}

export async function putProject(key, user, project, name, json) {
  const db = await open();
  const tx = db.transaction("projects", "readwrite");
  tx.objectStore("projects").put({ key, user, project, name, json, usedAt: Date.now() });
  await finished(tx);
}

/** The projects kept: `[{project, name}]`. */
export async function listProjects() {
  const db = await open();
  const rows = await done(db.transaction("projects").objectStore("projects").getAll());
  return rows.map(({ project, name }) => ({ project, name }));
}

/** The project's JSON as last kept, or null. */
export async function getProject(key) {
  const db = await open();
  const row = await done(db.transaction("projects").objectStore("projects").get(key));
  return row ? row.json : null;
}

/** Keeps a message written offline (once per client id). */
export async function queueChat(user, project, client, text) {
  const db = await open();
  const tx = db.transaction("chat", "readwrite");
  const store = tx.objectStore("chat");
  const rows = await done(store.getAll());
  if (!rows.some((r) => r.client === client)) {
    store.add({ user, project, client, text, at: Date.now() });
  }
  await finished(tx);
}

/** Queued chat messages of one project: `[{client, text, at}]`, oldest first. */
export async function queuedChat(user, project) {
  const db = await open();
  const rows = await done(db.transaction("chat").objectStore("chat").getAll());
  return rows.filter((r) => r.user === user && r.project === project);
}

/** Forgets a message once the server has it. */
export async function unqueueChat(client) {
  const db = await open();
  const tx = db.transaction("chat", "readwrite");
  await new Promise((resolve, reject) => {
    const req = tx.objectStore("chat").openCursor();
    req.onsuccess = () => {
      const c = req.result;
      if (!c) return resolve();
      if (c.value.client === client) c.delete();
      c.continue();
    };
    req.onerror = () => reject(req.error);
  });
  await finished(tx);
}

/** Deletes every local copy (sign-out). Resolves once the database is gone. */
export async function clearAll() {
  if (opening) {
    try {
      (await opening).close();
    } catch (_) {}
    opening = null;
  }
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
    // Other tabs close their connection on `versionchange`; resolve once they have.
    req.onblocked = () => {};
  });
}
