// The service worker: the pages open offline with what they last showed.
// - The app shell (pages, scripts, styles, icons, the map library) is kept
//   at install; pages and scripts are fetched fresh when the network is
//   there (network first), so a new version shows at once.
// - GET answers of the API are kept as they come and served when the
//   network is not there, so a reload offline shows the last known state.
// - Writes are never answered from here: the page keeps them (with their
//   Idempotency-Key) until they can be sent.
const SHELL = "zd-shell-v1";
const DATA = "zd-api-v1";
const SHELL_FILES = [
  "/", "/index.html", "/volunteer.html", "/resident.html", "/coordinator.html",
  "/app.css", "/i18n.js", "/zd.js", "/app.js", "/volunteer.js", "/resident.js", "/coordinator.js",
  "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png", "/app-config.json",
  "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== DATA).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Network first; the kept copy when the network fails.
async function networkFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const fresh = await fetch(request);
    if (fresh.ok) cache.put(request, fresh.clone());
    return fresh;
  } catch (e) {
    const kept = await cache.match(request, { ignoreVary: true });
    if (kept) return kept;
    if (request.mode === "navigate") {
      const shell = await caches.match("/index.html");
      if (shell) return shell;
    }
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/api/v1/ws") return;
  if (url.pathname.startsWith("/api/")) {
    event.respondWith(networkFirst(req, DATA));
    return;
  }
  event.respondWith(networkFirst(req, SHELL));
});

// A logout forgets the kept answers (they hold the user's data).
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "logout") event.waitUntil(caches.delete(DATA));
});
