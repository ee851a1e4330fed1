// Tandem's service worker: keeps the app's own files so the IDE opens without a network, and
// never keeps anything a signed-in person's session produced (pages, server functions,
// sockets, downloads): that data lives in IndexedDB, written by the app itself, and signing
// out clears it.
//
// `cargo xtask` replaces the BUILD line below with this build's version (a hash of the files)
// and the list of files to precache, so every build is a new worker and browsers see the
// update. Built another way the line stays as it is: version "dev", nothing precached, and
// the app's files are still kept as they are fetched.
const BUILD = { version: "dev", precache: [] };

const PREFIX = "tandem-shell-";
const CACHE = PREFIX + BUILD.version;
/// What a navigation gets when the network fails: a page that starts the app in the browser.
const OFFLINE_SHELL = "/offline.html";
/// Paths whose answers depend on who asks, or are live: never cached, never answered offline.
const NEVER = ["/api/", "/ws", "/yjs/", "/healthz", "/metrics", "/manifest.webmanifest"];
/// The app's own files. The HTML, wasm and JS of one build must go together: for a page of
/// this worker's build (the server says which build a page is, `x-tandem-build`) they come
/// from the cache; for any other page from the server, the cache answering only offline.
const APP = ["/pkg/", "/offline.html", "/offline.js"];
/// Pages (by client id) known to be of this worker's build.
const ours = new Set();
/// Files that never change within a version of their package (Monaco, xterm, icons): the
/// cache answers first.
const STATIC = ["/monaco/", "/xterm/", "/icons/", "/favicon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    // A Set: addAll refuses a list that names a file twice.
    caches.open(CACHE).then((cache) => cache.addAll([...new Set([OFFLINE_SHELL, ...BUILD.precache])])),
  );
  // No skipWaiting here: a page running the old version keeps the old worker until the person
  // chooses to reload (the app shows "A new version is ready").
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      // The first install takes the open pages at once, so they work offline from now on.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skipWaiting") self.skipWaiting();
});

const startsWithAny = (path, prefixes) => prefixes.some((p) => path.startsWith(p));

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || startsWithAny(url.pathname, NEVER)) return;
  if (req.mode === "navigate") {
    event.respondWith(navigate(req, event.resultingClientId));
  } else if (startsWithAny(url.pathname, STATIC)) {
    event.respondWith(cacheFirst(req));
  } else if (startsWithAny(url.pathname, APP)) {
    event.respondWith(ours.has(event.clientId) ? cacheFirst(req) : networkFirst(req));
  }
});

/// Pages are rendered for the person asking: straight from the server, never stored. Offline,
/// the shell starts the app in the browser, which reads what it kept in IndexedDB.
async function navigate(req, client) {
  try {
    const res = await fetch(req);
    if (BUILD.precache.length && res.headers.get("x-tandem-build") === BUILD.version) ours.add(client);
    return res;
  } catch (e) {
    const shell = await caches.match(OFFLINE_SHELL);
    if (!shell) throw e;
    ours.add(client);
    return shell;
  }
}

async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req);
    // Kept when this build did not precache it (a dev build): only plain successful answers.
    if (res.ok && res.type === "basic" && !BUILD.precache.length) cache.put(req, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    throw e;
  }
}

async function cacheFirst(req) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(req, { ignoreSearch: true });
  if (hit) return hit;
  const res = await fetch(req);
  // Monaco's languages and workers load on demand: kept once used, so a language opened
  // online once highlights offline too.
  if (res.ok && res.type === "basic") cache.put(req, res.clone());
  return res;
}
