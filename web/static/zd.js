// What every page shares: language, session, the API client with problem+json
// errors shown next to their field, the live socket, maps, formatting.
(function () {
  "use strict";
  const I18N = window.ZD_I18N;
  const ZD = {};
  let lang = localStorage.getItem("zd.lang") === "en" ? "en" : "zh";

  // ---------- language ----------
  ZD.lang = () => lang;
  ZD.t = function (key, vars) {
    let s = I18N[lang][key];
    if (s === undefined) s = I18N.zh[key];
    if (s === undefined) return key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? "" : String(vars[k])));
    return s;
  };
  ZD.applyLang = function (root) {
    const r = root || document;
    if (!root) {
      document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
      const title = document.querySelector("meta[name=zd-title]");
      document.title = (title ? ZD.t(title.content) + " · " : "") + (lang === "zh" ? "众队 Zhongdui" : "Zhongdui 众队");
    }
    r.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = ZD.t(el.dataset.i18n); });
    r.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = ZD.t(el.dataset.i18nPlaceholder); });
    r.querySelectorAll("[data-i18n-label]").forEach((el) => { el.setAttribute("aria-label", ZD.t(el.dataset.i18nLabel)); });
    const btn = document.getElementById("lang");
    // The accessible name starts with the visible text (WCAG 2.5.3).
    if (btn && !root) { btn.textContent = ZD.t("switchTo"); btn.setAttribute("aria-label", ZD.t("switchTo") + " · " + ZD.t("switchLabel")); }
  };
  ZD.onLang = (fn) => document.addEventListener("zd:lang", fn);
  function switchLang() {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("zd.lang", lang);
    ZD.applyLang();
    document.dispatchEvent(new Event("zd:lang"));
  }

  // ---------- session ----------
  ZD.token = () => sessionStorage.getItem("zd.token");
  ZD.user = () => { try { return JSON.parse(sessionStorage.getItem("zd.user") || "null"); } catch (_) { return null; } };
  ZD.saveSession = (token, user) => {
    forgetKept();
    sessionStorage.setItem("zd.token", token);
    sessionStorage.setItem("zd.user", JSON.stringify(user));
  };
  // The answers the service worker kept hold the user's data: a logout,
  // and a new login, forget them.
  const forgetKept = () => {
    try { navigator.serviceWorker?.controller?.postMessage({ type: "logout" }); } catch (_) { /* none */ }
  };
  // What a page must undo while the token still works (this browser's
  // push subscription), given at most 1.5 s.
  ZD.logoutHooks = [];
  ZD.logout = async () => {
    const hooks = Promise.all(ZD.logoutHooks.map((h) => Promise.resolve().then(h).catch(() => {})));
    await Promise.race([hooks, new Promise((r) => setTimeout(r, 1500))]);
    sessionStorage.removeItem("zd.token");
    sessionStorage.removeItem("zd.user");
    forgetKept();
    location.href = "/";
  };
  ZD.homeOf = (role) => ({ resident: "/resident.html", volunteer: "/volunteer.html", coordinator: "/coordinator.html", admin: "/coordinator.html" })[role] || "/";
  // A page for some roles: anyone else goes back to the login.
  ZD.requireRole = function (roles) {
    const u = ZD.user();
    if (!ZD.token() || !u || !roles.includes(u.role)) { location.replace("/"); return null; }
    return u;
  };

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.problem = problem || { status };
    }
  }
  ZD.ApiError = ApiError;
  ZD.api = async function (method, path, body, opts) {
    const o = opts || {};
    // The server writes its messages (problem details, field errors) in
    // the page's language.
    const headers = Object.assign({ "Accept-Language": lang === "en" ? "en" : "zh-CN" }, o.headers);
    const token = ZD.token();
    if (token) headers.Authorization = "Bearer " + token;
    let payload;
    if (body !== undefined && body !== null) {
      if (typeof body === "string") { payload = body; headers["Content-Type"] = headers["Content-Type"] || "text/csv"; }
      else { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
    }
    let res;
    try {
      res = await fetch("/api/v1" + path, { method, headers, body: payload });
    } catch (e) {
      throw new ApiError(0, { status: 0, detail: ZD.t("err.network") });
    }
    if (res.status === 401 && token && !o.noRedirect) {
      sessionStorage.removeItem("zd.token");
      ZD.toast(ZD.t("err.session"), true);
      setTimeout(() => location.replace("/"), 1200);
    }
    if (o.raw) { if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null)); return res; }
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (_) { data = text; } }
    if (!res.ok) throw new ApiError(res.status, data && typeof data === "object" ? data : { status: res.status, detail: text });
    return data;
  };
  // ---------- actions that must act once, and the outbox ----------
  // An action (accept, arrive, complete, a position…) carries an
  // Idempotency-Key. When the network fails it is kept in IndexedDB (the
  // outbox) and sent again, in order, when the network is back: the server
  // answers a repeat with its first answer, so it acts once. An action the
  // server refuses then is reported to the page (`zd:refused`), never dropped.
  let dbp = null;
  const openDb = () => (dbp = dbp || new Promise((ok, no) => {
    const r = indexedDB.open("zd-outbox", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("actions", { keyPath: "key" });
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  }));
  async function withStore(mode, fn) {
    const d = await openDb();
    return new Promise((ok, no) => {
      const tx = d.transaction("actions", mode);
      const req = fn(tx.objectStore("actions"));
      tx.oncomplete = () => ok(req ? req.result : undefined);
      tx.onerror = () => no(tx.error);
    });
  }
  const me = () => (ZD.user() || {}).id || "";
  ZD.pending = async () => (await withStore("readonly", (st) => st.getAll()))
    .filter((a) => a.user === me()).sort((a, b) => a.at - b.at);
  const changed = () => document.dispatchEvent(new CustomEvent("zd:outbox"));
  async function enqueue(item) {
    // A newer position replaces an older one still waiting.
    if (item.replace) {
      for (const old of await ZD.pending()) if (old.name === item.name) await withStore("readwrite", (st) => st.delete(old.key));
    }
    await withStore("readwrite", (st) => st.put(item));
    changed();
  }
  const unsettled = new Map(); // name -> {key, body}
  // `label` says what it was, for the pending list; `opts.replace`: a newer
  // one of the same name replaces a waiting one (positions).
  ZD.action = async function (name, method, path, body, label, opts) {
    const text = JSON.stringify(body === undefined ? null : body);
    let k = unsettled.get(name);
    if (!k || k.body !== text) { k = { key: ZD.uuid(), body: text }; unsettled.set(name, k); }
    try {
      const out = await ZD.api(method, path, body, { headers: { "Idempotency-Key": k.key } });
      unsettled.delete(name);
      return out;
    } catch (e) {
      if (e.status !== 0) { unsettled.delete(name); throw e; }
      unsettled.delete(name);
      await enqueue({ key: k.key, name, method, path, body, label: label || name, at: Date.now(), user: me(), replace: !!(opts && opts.replace) });
      e.queued = true;
      throw e;
    }
  };
  let flushing = false;
  // Sends what the outbox holds, oldest first; stops at the first network failure.
  ZD.flush = async function () {
    if (flushing || !navigator.onLine || !ZD.token()) return;
    flushing = true;
    try {
      for (const a of await ZD.pending()) {
        try {
          await ZD.api(a.method, a.path, a.body, { headers: { "Idempotency-Key": a.key } });
          await withStore("readwrite", (st) => st.delete(a.key));
          document.dispatchEvent(new CustomEvent("zd:sent", { detail: a }));
        } catch (e) {
          if (e.status === 0) break;
          await withStore("readwrite", (st) => st.delete(a.key));
          document.dispatchEvent(new CustomEvent("zd:refused", { detail: { action: a, reason: ZD.problemText(e) } }));
        }
      }
    } finally { flushing = false; changed(); }
  };
  ZD.get = (p) => ZD.api("GET", p);
  ZD.post = (p, b, o) => ZD.api("POST", p, b === undefined ? {} : b, o);

  // Forms: `<p class="error" data-error-for="field">` beside each input and
  // one `data-error-for="_form"` for problems that name no field.
  ZD.clearErrors = function (form) {
    form.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.setAttribute("aria-invalid", "false"));
  };
  ZD.fieldError = function (form, field, message) {
    const out = form.querySelector(`[data-error-for="${field}"]`);
    if (!out) return false;
    out.textContent = message;
    const input = form.querySelector(`[name="${field}"]`);
    if (input) { input.setAttribute("aria-invalid", "true"); }
    return true;
  };
  ZD.problemText = function (e) {
    const p = (e && e.problem) || {};
    if (e && e.queued) return ZD.t("outbox.queued");
    if (e && e.status === 0) return ZD.t("err.network");
    if (p.status === 403) return p.detail || ZD.t("err.forbidden");
    if (p.status === 429) return ZD.t("err.rate");
    const first = (p.errors || [])[0];
    return p.detail || (first ? first.field + ": " + first.message : "") || p.title || ZD.t("err.network");
  };
  ZD.showProblem = function (form, e) {
    const p = (e && e.problem) || {};
    let shown = false, firstBad = null;
    (p.errors || []).forEach((fe) => {
      const name = String(fe.field).replace(/\[\d+\]$/, "");
      if (ZD.fieldError(form, name, fe.message)) { shown = true; firstBad = firstBad || form.querySelector(`[name="${name}"]`); }
    });
    if (!shown) ZD.fieldError(form, "_form", ZD.problemText(e));
    if (firstBad) firstBad.focus();
  };
  // Runs `fn` for a form submit with errors cleared first and shown after.
  ZD.onSubmit = function (form, fn) {
    // A hint about a field goes once the field is changed.
    const clear = (ev) => {
      const name = ev.target && ev.target.name;
      if (!name) return;
      const out = form.querySelector(`[data-error-for="${name}"]`);
      if (out && out.textContent) { out.textContent = ""; ev.target.setAttribute("aria-invalid", "false"); }
    };
    form.addEventListener("input", clear);
    form.addEventListener("change", clear);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      ZD.clearErrors(form);
      const missing = [...form.querySelectorAll("[required]")].find((el) => !String(el.value).trim());
      if (missing) { ZD.fieldError(form, missing.name, ZD.t("err.required")); missing.focus(); return; }
      const btn = form.querySelector("button[type=submit]");
      if (btn) btn.disabled = true;
      try { await fn(new FormData(form)); } catch (e) {
        if (!(e instanceof ApiError)) console.error(e);
        ZD.showProblem(form, e);
      } finally { if (btn) btn.disabled = false; }
    });
  };

  // ---------- feedback ----------
  ZD.toast = function (msg, bad) {
    let box = document.getElementById("toast");
    if (!box) {
      box = document.createElement("div");
      box.id = "toast"; box.setAttribute("role", "status"); box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    const item = document.createElement("p");
    item.className = bad ? "toast bad" : "toast";
    item.textContent = msg;
    box.appendChild(item);
    setTimeout(() => item.remove(), 4000);
  };
  ZD.el = function (tag, attrs, ...kids) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : v);
    });
    kids.flat().forEach((k) => { if (k !== null && k !== undefined && k !== false) e.append(k.nodeType ? k : String(k)); });
    return e;
  };

  // ---------- formatting ----------
  ZD.distance = (m) => (m === null || m === undefined ? ZD.t("none")
    : m < 1000 ? ZD.t("meters", { n: Math.round(m) }) : ZD.t("km", { n: (m / 1000).toFixed(1) }));
  ZD.duration = (s) => (s === null || s === undefined ? ZD.t("none")
    : s < 120 ? ZD.t("seconds", { n: Math.round(s) }) : ZD.t("minutes", { n: Math.round(s / 60) }));
  ZD.time = (iso) => (iso ? new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }) : ZD.t("none"));
  ZD.status = (s) => ZD.t("status." + s);
  ZD.haversine = function (lat1, lon1, lat2, lon2) {
    const r = (d) => (d * Math.PI) / 180;
    const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
    return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
  };
  let catalogue = null;
  ZD.catalogue = async () => (catalogue = catalogue || (await ZD.get("/catalogue")));
  ZD.categoryName = (code) => {
    const c = catalogue && catalogue.categories.find((x) => x.code === code);
    return c ? (lang === "zh" ? c.name_zh : c.name_en) : code;
  };
  ZD.skillName = (code) => {
    const s = catalogue && catalogue.skills.find((x) => x.code === code);
    return s ? (lang === "zh" ? s.name_zh : s.name_en) : code;
  };
  // A joint incident's roles, "急救 1/1 · 交通疏导 1/2" (nothing for other orders).
  ZD.rolesLine = function (o) {
    if (!o.roles || !o.roles.length) return "";
    return ZD.el("div", { class: "role-slots" }, ZD.t("role.roles"), ": ",
      o.roles.map((r) => `${ZD.skillName(r.skill)} ${r.filled}/${r.count}`).join(" · "));
  };
  // An order's liaison thread: the messages and a form to write one. The
  // node is kept across re-renders (nothing typed is lost); `add` shows a
  // message pushed live, `load` reads the thread again.
  ZD.thread = function (orderId) {
    const list = ZD.el("ol", { class: "thread", "aria-live": "polite" });
    const count = ZD.el("span", {}, "");
    const id = "msg-" + orderId;
    const form = ZD.el("form", { class: "message", novalidate: true },
      ZD.el("label", { for: id }, ZD.t("thread.write")),
      ZD.el("textarea", { id, name: "text", maxlength: "1000", rows: "2" }),
      ZD.el("p", { class: "error", "data-error-for": "text", role: "alert" }),
      ZD.el("button", { type: "submit" }, ZD.t("thread.send")),
      ZD.el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
    const node = ZD.el("details", { class: "thread-box", "data-thread": orderId },
      ZD.el("summary", {}, ZD.t("thread.title"), " ", count), list, form);
    const seen = new Set();
    const add = (m) => {
      if (seen.has(m.id)) return;
      seen.add(m.id);
      list.append(ZD.el("li", { "data-message": String(m.id) },
        ZD.el("strong", {}, m.author_name || ZD.t("rolename." + m.author_role)), " · ",
        ZD.el("span", { class: "muted" }, ZD.t("rolename." + m.author_role), " · ", ZD.time(m.created_at)),
        ZD.el("p", {}, m.text)));
      count.textContent = `(${seen.size})`;
    };
    const load = async () => {
      const page = await ZD.get(`/orders/${orderId}/messages?per_page=200`);
      page.items.forEach(add);
    };
    ZD.onSubmit(form, async (f) => {
      const text = String(f.get("text")).trim();
      if (!text) { ZD.fieldError(form, "text", ZD.t("err.required")); return; }
      add(await ZD.action("message:" + orderId, "POST", `/orders/${orderId}/messages`, { text }));
      form.querySelector("textarea").value = "";
    });
    // A push carries the message as `message_id` (its `id` is the event's).
    return { node, add: (m) => add(Object.assign({}, m, { id: m.message_id ?? m.id })), load };
  };
  ZD.options = function (select, items, withAll) {
    const keep = select.value;
    select.replaceChildren();
    if (withAll) select.append(ZD.el("option", { value: "" }, ZD.t("co.all")));
    items.forEach(([v, label]) => select.append(ZD.el("option", { value: v }, label)));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  };
  ZD.uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

  // ---------- live socket ----------
  // Reconnects with backoff and resumes from the last event id it saw.
  // `onReopen` runs after a reconnect, for pages to refetch what they show.
  ZD.live = function (onMessage, onReopen) {
    let ws = null, lastId = null, delay = 500, pinger = null, closed = false, opened = false;
    const badge = document.getElementById("live");
    let lastHeard = Date.now(), up = false;
    const mark = (ok) => {
      up = ok;
      ZD.offline(!navigator.onLine || !ok);
      if (!badge) return;
      badge.dataset.state = ok ? "on" : "off";
      badge.textContent = ok ? "● " + ZD.t("live.short.on") : "○ " + ZD.t("live.short.off");
      badge.title = ZD.t(ok ? "live.on" : "live.off");
      badge.setAttribute("aria-label", badge.textContent + " · " + badge.title);
    };
    document.addEventListener("zd:lang", () => mark(up)); // the label follows the language
    window.addEventListener("offline", () => { mark(false); if (ws) ws.close(); });
    // Back online: reconnect now. An attempt made while offline may hang
    // in CONNECTING; it is dropped for a fresh one rather than waited out.
    window.addEventListener("online", () => {
      delay = 500;
      if (ws && ws.readyState === 0) { ws.onclose = null; ws.close(); ws = null; }
      if (!ws || ws.readyState > 1) open();
    });
    function open() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      let url = `${proto}//${location.host}/api/v1/ws?token=${encodeURIComponent(ZD.token() || "")}`;
      if (lastId !== null) url += "&last_event_id=" + lastId;
      url += "&lang=" + (lang === "en" ? "en" : "zh-CN");
      ws = new WebSocket(url);
      ws.onopen = () => {
        delay = 500; mark(true);
        if (opened && onReopen) onReopen();
        opened = true;
      };
      ws.onmessage = (ev) => {
        lastHeard = Date.now();
        let m;
        try { m = JSON.parse(ev.data); } catch (_) { return; }
        if (typeof m.id === "number") lastId = Math.max(lastId || 0, m.id);
        try { onMessage(m); } catch (e) { console.error(e); }
      };
      ws.onclose = () => {
        mark(false);
        if (closed) return;
        setTimeout(() => { if (!ws || ws.readyState > 1) open(); }, delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
    // A ping every 20 s is answered by a pong; nothing heard for 45 s means
    // the connection is dead although the socket says open: say so and reconnect.
    pinger = setInterval(() => {
      if (!ws || ws.readyState !== 1) return;
      if (Date.now() - lastHeard > 45000) { mark(false); ws.close(); return; }
      ws.send('{"type":"ping"}');
    }, 20000);
    if (!navigator.onLine) mark(false);
    return {
      send: (obj) => ws && ws.readyState === 1 && ws.send(JSON.stringify(obj)),
      close: () => { closed = true; clearInterval(pinger); if (ws) ws.close(); },
    };
  };

  // ---------- maps ----------
  let config = null;
  ZD.config = async () => (config = config || (await fetch("/app-config.json").then((r) => r.json())));
  // Positions are WGS-84 everywhere (API, storage, GPS). Tiles drawn in
  // GCJ-02 (`tile_crs`, what Chinese providers serve) need every point a map
  // draws shifted to it and every point picked on it shifted back: all map
  // code goes through these two (the config is loaded by then: ZD.map waits
  // for it). No `tile_crs` means WGS-84.
  ZD.gcj = window.ZD_GCJ || null;
  const gcjTiles = () => !!(config && config.tile_crs === "gcj02" && ZD.gcj);
  // WGS-84 -> the map's [lat, lon], for Leaflet.
  ZD.toMap = (lat, lon) => (gcjTiles() ? ZD.gcj.toGcj(lat, lon) : [lat, lon]);
  // A Leaflet latlng (a click, the view's corners) -> WGS-84 {lat, lon}.
  ZD.fromMap = (ll) => {
    const [lat, lon] = gcjTiles() ? ZD.gcj.toWgs(ll.lat, ll.lng) : [ll.lat, ll.lng];
    return { lat, lon };
  };
  // Adds the configured tiles (and the overlay, labels over imagery, when
  // there is one) to a map; a note under `el` says when they fail (the
  // markers are vector shapes and work without them).
  ZD.tiles = async function (map, el) {
    const cfg = await ZD.config();
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    const opts = { maxZoom: 19 };
    if (cfg.tile_subdomains) opts.subdomains = cfg.tile_subdomains;
    const layers = [L.tileLayer(cfg.tile_url, Object.assign({ attribution: cfg.tile_attribution }, opts))];
    if (cfg.tile_overlay_url) layers.push(L.tileLayer(cfg.tile_overlay_url, opts));
    let warned = false;
    const warn = () => {
      if (warned) return;
      warned = true;
      el.parentElement.querySelectorAll(".map-note").forEach((n) => n.remove());
      el.insertAdjacentElement("afterend", ZD.el("p", { class: "map-note", role: "note", "data-i18n": "map.noTiles" }, ZD.t("map.noTiles")));
    };
    layers.forEach((t) => t.on("tileerror", warn).addTo(map));
  };
  // A Leaflet map at the configured centre, with tiles.
  ZD.map = async function (el, opts) {
    const cfg = await ZD.config();
    const map = L.map(el, Object.assign({ zoomControl: true, attributionControl: true }, opts || {}))
      .setView(ZD.toMap(cfg.map_center[0], cfg.map_center[1]), (opts && opts.zoom) || 13);
    await ZD.tiles(map, el);
    return map;
  };
  // Centres a map on a WGS-84 point, at least at `minZoom`. A zoom animation
  // under way ends first: Leaflet (1.9) would otherwise finish it at its own
  // target after this move, and the map would stop between the two.
  ZD.goTo = function (map, lat, lon, minZoom) {
    const go = () => map.setView(ZD.toMap(lat, lon), Math.max(map.getZoom(), minZoom || 0));
    if (map._animatingZoom) map.once("zoomend", go); else go();
  };
  // A round marker at a WGS-84 position (`opts`: more Leaflet options, a pane).
  ZD.dot = (lat, lon, color, r, label, opts) => {
    const m = L.circleMarker(ZD.toMap(lat, lon), Object.assign({ radius: r || 7, color: "#fff", weight: 2, fillColor: color, fillOpacity: 0.95 }, opts));
    if (label) m.bindTooltip(label);
    return m;
  };
  ZD.statusColor = (s) => ({ open: "#e67e22", escalated: "#c8102e", assigned: "#2471a3", in_progress: "#7d3c98", completed: "#1e8449" })[s] || "#7f8c8d";

  // ---------- page chrome ----------
  // A banner in words while the device is offline or the live connection
  // is lost: what is shown may be old, and actions wait for the network.
  ZD.offline = function (off) {
    let banner = document.getElementById("offline-banner");
    if (!banner) {
      banner = ZD.el("div", { id: "offline-banner", role: "status", class: "offline-banner", hidden: true });
      document.body.prepend(banner);
    }
    banner.textContent = ZD.t(navigator.onLine ? "net.reconnecting" : "net.offline");
    banner.hidden = !off;
    document.documentElement.dataset.offline = off ? "1" : "";
  };

  ZD.start = function () {
    ZD.applyLang();
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
    window.addEventListener("offline", () => ZD.offline(true));
    window.addEventListener("online", () => { ZD.offline(false); ZD.flush(); });
    if ("indexedDB" in window && ZD.token()) { ZD.flush(); setInterval(ZD.flush, 15000); }
    if (!navigator.onLine) ZD.offline(true);
    const btn = document.getElementById("lang");
    if (btn) btn.addEventListener("click", switchLang);
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", ZD.logout);
  };
  window.ZD = ZD;
})();
