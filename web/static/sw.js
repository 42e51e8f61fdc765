// The service worker: the pages open offline with what they last showed.
// - The app shell (pages, scripts, styles, icons, the map library) is kept
//   at install; pages and scripts are fetched fresh when the network is
//   there (network first), so a new version shows at once.
// - GET answers of the API are kept as they come and served when the
//   network is not there, so a reload offline shows the last known state.
// - Writes are never answered from here: the page keeps them (with their
//   Idempotency-Key) until they can be sent.
const SHELL = "zd-shell-v3";
const DATA = "zd-api-v1";
const SHELL_FILES = [
  "/", "/index.html", "/volunteer.html", "/resident.html", "/coordinator.html",
  "/app.css", "/i18n.js", "/gcj02.js", "/zd.js", "/app.js", "/volunteer.js", "/resident.js", "/coordinator.js",
  "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png", "/app-config.json",
  "/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css",
  "/vendor/leaflet.markercluster/leaflet.markercluster.js", "/vendor/leaflet.markercluster/MarkerCluster.css",
  "/vendor/leaflet.markercluster/MarkerCluster.Default.css",
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

// Web Push: an offer (or an assignment, a cancellation, a team notice)
// for a volunteer with no page open. The server wrote the title and body in
// the volunteer's language; an offer counts down from its deadline. The
// receipt tells the server it was shown, so an urgent offer is not also
// sent by text message.
function countdown(deadline, lang) {
  const left = Math.max(0, Math.round((Date.parse(deadline) - Date.now()) / 1000));
  const mm = Math.floor(left / 60), ss = String(left % 60).padStart(2, "0");
  if (left === 0) return lang === "en" ? "expired" : "已过期";
  return lang === "en" ? `${mm}:${ss} left to answer` : `剩余 ${mm}:${ss} 应答`;
}

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (_) { data = {}; }
  const lang = data.lang === "en" ? "en" : "zh-CN";
  const lines = [];
  if (data.kind === "offer" && data.deadline) lines.push(countdown(data.deadline, lang));
  if (data.body) lines.push(data.body);
  const urgent = data.urgency === "urgent" || data.urgency === "critical";
  const shown = self.registration.showNotification(data.title || "众队", {
    body: lines.join("\n"),
    tag: data.tag || "zd",
    renotify: true,
    requireInteraction: data.kind === "offer",
    vibrate: urgent ? [300, 100, 300, 100, 300] : [200],
    icon: "/icons/icon-192.png",
    badge: "/icons/icon-192.png",
    timestamp: Date.now(),
    lang,
    data: { url: data.url || "/volunteer.html" },
  });
  const receipt = data.receipt
    ? shown.then(() => fetch("/api/v1/push/receipts", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ receipt: data.receipt }),
    })).catch(() => {})
    : shown;
  event.waitUntil(receipt);
});

// Tapping opens the offer: in a volunteer page already open, or a new one.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/volunteer.html", self.location.origin);
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const c of open) {
      if (new URL(c.url).pathname === url.pathname) {
        await c.focus();
        c.postMessage({ type: "open", hash: url.hash });
        return;
      }
    }
    await self.clients.openWindow(url.href);
  })());
});
