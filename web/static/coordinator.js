// The coordinator's desk: live map, orders, escalations with manual assign,
// roster with CSV import/export, station dispatch slips, statistics, points.
(function () {
  "use strict";
  const user = ZD.requireRole(["coordinator", "admin"]);
  if (!user) return;
  const $ = (id) => document.getElementById(id);
  const el = ZD.el;
  const ACTIVE = ["open", "escalated", "assigned", "in_progress"];
  let teams = [];
  const loaded = new Set();

  // ---------- tabs ----------
  const tabs = [...document.querySelectorAll("[role=tab]")];
  function show(tab) {
    tabs.forEach((t) => {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    });
    const name = tab.id.slice(4);
    history.replaceState(null, "", "#" + name);
    if (!loaded.has(name)) { loaded.add(name); (loaders[name] || (() => {}))(); }
    else if (refreshers[name]) refreshers[name]();
    if (name === "map" && liveMap) setTimeout(() => liveMap.invalidateSize(), 0);
    if (name === "slip" && slipMap) setTimeout(() => slipMap.invalidateSize(), 0);
  }
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => show(t));
    t.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      const next = tabs[(i + d + tabs.length) % tabs.length];
      next.focus(); show(next);
    });
  });

  function download(path, name) {
    return ZD.api("GET", path, undefined, { raw: true }).then((r) => r.blob()).then((b) => {
      const a = el("a", { href: URL.createObjectURL(b), download: name });
      document.body.append(a); a.click(); a.remove();
    }).catch((e) => ZD.toast(ZD.problemText(e), true));
  }
  const teamName = (id) => (teams.find((t) => t.id === id) || {}).name || "";
  // A team kind by its catalogue name (the code only if the catalogue lacks it).
  let kinds = [];
  // The roster may be drawn before the catalogue arrives: drawn again once it has.
  ZD.catalogue().then((c) => { kinds = c.team_kinds || []; if (loaded.has("roster")) loadTeams().catch(() => {}); }).catch(() => {});
  const kindName = (code) => {
    const k = kinds.find((x) => x.code === code);
    return k ? (ZD.lang() === "zh" ? k.name_zh : k.name_en) : code;
  };

  // ---------- live map ----------
  // Active orders (one dot each, and the list beside the map), police
  // stations and teams' bases, and the volunteers the filters choose, in
  // clusters showing how many are there until the map is zoomed in.
  let liveMap = null, orderLayer, volLayer;
  const orderMarkers = new Map(), volMarkers = new Map(), activeOrders = new Map();
  const STATUS_RANK = { escalated: 0, open: 1, assigned: 2, in_progress: 3 };
  // What the filters above the map choose: {skill, team, onDuty}.
  function volFilter() {
    const f = $("map-filters");
    return { skill: f.skill.value, team: f.team_id.value, onDuty: f.duty.value !== "all" };
  }
  function counts() {
    const f = volFilter();
    const o = orderMarkers.size, v = volMarkers.size;
    if (f.onDuty && !f.skill && !f.team) { $("counts").textContent = ZD.t("co.counts", { o, v }); return; }
    const chosen = [ZD.t(f.onDuty ? "co.map.dutyOn" : "co.map.dutyAll"), f.skill && ZD.skillName(f.skill), f.team && teamName(f.team)].filter(Boolean);
    $("counts").textContent = ZD.t("co.countsFiltered", { o, v, f: chosen.join(ZD.lang() === "zh" ? "、" : ", ") });
  }
  function placeOrder(o) {
    const old = orderMarkers.get(o.id);
    if (old) { orderLayer.removeLayer(old); orderMarkers.delete(o.id); }
    activeOrders.delete(o.id);
    if (ACTIVE.includes(o.status)) {
      const m = ZD.dot(o.lat, o.lon, ZD.statusColor(o.status), 9, orderLabel(o), { pane: "orders" });
      m.on("click", () => openOrder(o.id));
      m.addTo(orderLayer);
      orderMarkers.set(o.id, m);
      activeOrders.set(o.id, o);
    }
    counts();
    listOrders();
  }
  const orderLabel = (o) => `${o.code} · ${ZD.status(o.status)} · ${ZD.categoryName(o.category)}`;
  // The list beside the map, redrawn once for a burst of changes; the item
  // that had the focus keeps it.
  function listOrders() {
    if (listOrders.due) return;
    listOrders.due = setTimeout(() => {
      listOrders.due = null;
      const list = $("map-orders");
      const focused = list.contains(document.activeElement) ? document.activeElement.dataset.order : null;
      const items = [...activeOrders.values()].sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || String(b.created_at).localeCompare(String(a.created_at)));
      $("map-orders-n").textContent = `(${items.length})`;
      list.replaceChildren(...(items.length ? items.map((o) => el("li", {},
        el("button", { type: "button", class: "map-order", "data-order": o.id, onclick: () => showOrder(o.id) },
          el("strong", {}, o.code), " ", el("span", { class: "badge", "data-status": o.status }, ZD.status(o.status)), " ",
          el("span", {}, ZD.categoryName(o.category)), el("span", { class: "muted map-order-where" }, o.address || ""))))
        : [el("li", { class: "muted" }, ZD.t("co.map.noOrders"))]));
      if (focused) list.querySelector(`[data-order="${focused}"]`)?.focus();
    }, 0);
  }
  // An order from the list: the map goes to it, its detail opens.
  function showOrder(id) {
    const o = activeOrders.get(id);
    if (o && liveMap) ZD.goTo(liveMap, o.lat, o.lon, 16);
    openOrder(id).catch((e) => ZD.toast(ZD.problemText(e), true));
  }
  function placeVolunteer(id, lat, lon, name) {
    const m = volMarkers.get(id);
    if (m) { m.setLatLng(ZD.toMap(lat, lon)); return null; }
    const d = L.circleMarker(ZD.toMap(lat, lon), { radius: 3, stroke: false, fillColor: "#1e8449", fillOpacity: 0.8 });
    if (name) d.bindTooltip(name);
    volMarkers.set(id, d);
    return d;
  }
  // A cluster: how many volunteers, in words for screen readers too; Enter
  // or a click zooms to them.
  function clusterIcon(cluster) {
    const n = cluster.getChildCount();
    const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    const px = { small: 34, medium: 40, large: 48 }[size];
    return L.divIcon({
      html: `<div><span>${n}</span> <span class="sr-only">${ZD.t("co.map.cluster")}</span></div>`,
      className: `marker-cluster vol-cluster vol-cluster-${size}`, iconSize: L.point(px, px),
    });
  }
  async function pages(path) {
    const out = [];
    for (let page = 1; page < 50; page++) {
      const r = await ZD.get(`${path}${path.includes("?") ? "&" : "?"}per_page=500&page=${page}`);
      out.push(...r.items);
      if (out.length >= r.total || !r.items.length) break;
    }
    return out;
  }
  let placeLayer;
  async function loadMap() {
    liveMap = await ZD.map($("live-map"), { zoom: 12 });
    // Orders over the volunteers' clusters (which are over stations and bases).
    liveMap.createPane("orders").style.zIndex = 650;
    placeLayer = L.layerGroup().addTo(liveMap);
    orderLayer = L.layerGroup().addTo(liveMap);
    volLayer = L.markerClusterGroup({ chunkedLoading: true, disableClusteringAtZoom: 16, spiderfyOnMaxZoom: false, iconCreateFunction: clusterIcon }).addTo(liveMap);
    // Only the volunteers the view shows (with a margin) are loaded; moving
    // the map loads the new view's, and positions keep arriving live.
    liveMap.on("moveend", () => { clearTimeout(loadMap.timer); loadMap.timer = setTimeout(() => loadVolunteers().catch(() => {}), 400); });
    $("map-filters").addEventListener("change", () => loadVolunteers().catch((e) => ZD.showProblem($("map-filters"), e)));
    await Promise.all([refreshMap(), loadPlaces().catch(() => {}), mapFilters().catch(() => {})]);
  }
  // The filters' choices: the catalogue's skills, the roster's teams.
  async function mapFilters() {
    const cat = await ZD.catalogue();
    if (!teams.length) await loadTeams();
    mapFilterOptions(cat);
  }
  function mapFilterOptions(cat) {
    ZD.options($("mf-skill"), cat.skills.map((k) => [k.code, ZD.skillName(k.code)]), true);
    ZD.options($("mf-team"), teams.map((t) => [t.id, t.name]), true);
  }
  // Police stations and teams' bases, drawn under the orders.
  async function loadPlaces() {
    const [stations, all] = await Promise.all([ZD.get("/stations"), ZD.get("/teams?per_page=500")]);
    placeLayer.clearLayers();
    stations.items.forEach((st) => L.circleMarker(ZD.toMap(st.lat, st.lon), { radius: 8, color: "#1a4f9c", weight: 3, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(ZD.t("co.map.station", { name: st.name })).addTo(placeLayer));
    all.items.filter((t) => t.base).forEach((t) => L.circleMarker(ZD.toMap(t.base.lat, t.base.lon), { radius: 5, color: "#6b3fa0", weight: 2, fillColor: "#d9c8ef", fillOpacity: 1 })
      .bindTooltip(ZD.t("co.map.base", { name: t.name })).addTo(placeLayer));
  }
  // The map's view, padded by half, as the API's bbox (WGS-84).
  function viewBox() {
    const b = liveMap.getBounds().pad(0.5);
    const sw = ZD.fromMap(b.getSouthWest()), ne = ZD.fromMap(b.getNorthEast());
    const lon = (x) => Math.max(-180, Math.min(180, x)).toFixed(5), lat = (x) => Math.max(-90, Math.min(90, x)).toFixed(5);
    return [lon(sw.lon), lat(sw.lat), lon(ne.lon), lat(ne.lat)].join(",");
  }
  async function loadVolunteers() {
    const f = volFilter();
    const q = new URLSearchParams({ bbox: viewBox() });
    if (f.onDuty) q.set("on_duty", "true");
    if (f.skill) q.set("skill", f.skill);
    if (f.team) q.set("team_id", f.team);
    const seq = (loadVolunteers.seq = (loadVolunteers.seq || 0) + 1);
    const vols = await pages("/volunteers?" + q);
    if (seq !== loadVolunteers.seq) return; // a newer view or filter was asked for meanwhile
    volLayer.clearLayers(); volMarkers.clear();
    volLayer.addLayers(vols.filter((v) => v.lat !== null && v.lat !== undefined)
      .map((v) => placeVolunteer(v.id, v.lat, v.lon, `${v.display_name} · ${v.team_name}${v.on_duty ? "" : " · " + ZD.t("vol.offDuty")}`)).filter(Boolean));
    counts();
  }
  // A position pushed live: moves a volunteer shown; adds one only when the
  // filters choose every on-duty volunteer (a push says nothing of skills or team).
  function movedVolunteer(m) {
    const f = volFilter();
    const added = volMarkers.has(m.volunteer_id) || (!f.skill && !f.team) ? placeVolunteer(m.volunteer_id, m.lat, m.lon) : null;
    if (added) volLayer.addLayer(added);
    counts();
  }
  async function refreshMap() {
    const orders = await Promise.all(ACTIVE.map((s) => pages("/orders?status=" + s))).then((x) => x.flat());
    orderLayer.clearLayers(); orderMarkers.clear(); activeOrders.clear();
    orders.forEach(placeOrder);
    listOrders();
    await loadVolunteers();
  }

  // ---------- order detail ----------
  const dialog = $("order-dialog");
  $("dlg-close").addEventListener("click", () => dialog.close());
  async function openOrder(id, withCandidates) {
    const o = await ZD.get("/orders/" + id);
    $("dlg-title").textContent = ZD.t("co.detail");
    renderOrder(o, withCandidates);
    if (!dialog.open) dialog.showModal();
  }
  // The audit trail as sentences in the reader's language: people and teams
  // by name (the server's `names`, else the order's assignments or the
  // roster, else "a volunteer"; never an id), times local.
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const humanise = (code) => String(code).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const tOr = (key, code) => (ZD.t(key) === key ? humanise(code) : ZD.t(key));
  function eventNames(o, e) {
    const known = {};
    (o.assignments || []).forEach((a) => { if (a.volunteer_name) known[a.volunteer_id] = a.volunteer_name; });
    Object.assign(known, e.names || {});
    const one = (id, fallback) => (id && (known[id] || teamName(id))) || ZD.t(fallback || "ev.someone");
    const list = (ids, fallback) => (ids || []).map((id) => one(id, fallback)).join(ZD.lang() === "zh" ? "、" : ", ");
    return { one, list, known };
  }
  const counted = (key, n) => ZD.t(n === 1 ? key + "1" : key, { n });
  const radius = (m) => (m >= 1000 ? ZD.t("km", { n: Math.round(m / 100) / 10 }) : ZD.t("meters", { n: Math.round(m) }));
  function eventActor(e, names) {
    if (!e.actor_role) return ZD.t("ev.dispatcher");
    const name = e.actor_name || (e.actor_id && names.known[e.actor_id]) || "";
    const role = ZD.t("rolename." + e.actor_role);
    return name ? ZD.t("ev.actor", { role, name }) : role;
  }
  function eventSentence(o, e, names) {
    const d = e.data || {};
    const who = names.one(d.volunteer_id);
    const why = (r) => (r ? tOr("ev.why." + r, r) : ZD.t("none"));
    const role = d.role ? ZD.t("ev.asRole", { role: ZD.skillName(d.role) }) : "";
    const filled = { name: who, filled: d.filled, headcount: d.headcount };
    switch (e.kind) {
      case "created": return ZD.t("ev.created", { category: ZD.categoryName(d.category || o.category), urgency: ZD.t("urgency." + (d.urgency || o.urgency)), n: d.headcount ?? o.headcount, source: ZD.t("source." + (d.source || o.source)) });
      case "wave_started": return ZD.t("ev.wave_started", { wave: d.wave, r: radius(d.radius_m || 0), vols: counted("ev.vols", (d.offered || []).length) })
        + ((d.team_ids || []).length ? ZD.t("ev.teamOnly", { teams: names.list(d.team_ids, "ev.someTeam") }) : "");
      case "offer_accepted": case "grabbed": case "assigned":
        return ZD.t("ev." + e.kind, filled) + role + (d.replaces ? ZD.t("ev.replacing", { name: names.one(d.replaces) }) : "");
      case "offer_declined": case "offer_expired": return ZD.t("ev." + e.kind, { name: who, wave: d.wave });
      case "arrived": return ZD.t("ev.arrived", { name: who, d: ZD.distance(d.distance_m) });
      case "volunteer_completed": return ZD.t("ev.volunteer_completed", { name: who }) + (d.note ? ZD.t("ev.withNote", { note: d.note }) : "");
      case "volunteer_withdrew": case "volunteer_removed": return ZD.t("ev." + e.kind, { name: who, reason: d.reason || ZD.t("none") });
      case "offers_withdrawn": return ZD.t("ev.offers_withdrawn", { offers: counted("ev.offers", (d.volunteers || []).length), reason: why(d.reason) });
      case "volunteer_replaced": return ZD.t("ev.volunteer_replaced", { name: who, by: names.one(d.by), reason: why(d.reason) }) + role;
      case "replacement_offered": return ZD.t("ev.replacement_offered", { name: names.one(d.replaces), vols: counted("ev.vols", (d.offered || []).length), r: radius(d.radius_m || 0) }) + role;
      case "volunteer_overdue": return ZD.t("ev.volunteer_overdue", { name: who, t: ZD.time(d.expected_by), m: d.minutes_late });
      case "station_closed": return ZD.t("ev.station_closed", { outcome: d.outcome ? tOr("ev.outcome." + d.outcome, d.outcome) : ZD.t("none") }) + (d.note ? ZD.t("ev.withNote", { note: d.note }) : "");
      case "personal_data_erased": return ZD.t("ev.personal_data_erased", { days: d.retention_days, n: d.messages ?? 0 });
      case "escalated": return ZD.t("ev.escalated", { wave: d.after_wave ?? o.wave ?? "" });
      case "redispatched": case "in_progress": case "completed": return ZD.t("ev." + e.kind);
      case "filled": return ZD.t("ev.filled", { n: d.filled ?? o.headcount });
      case "unfilled": return d.removed || d.withdrew ? ZD.t("ev.unfilled", { name: names.one(d.removed || d.withdrew) }) : ZD.t("ev.unfilledAny");
      case "confirmed": return d.rating ? ZD.t("ev.confirmed", { rating: d.rating }) : ZD.t("ev.confirmedNoRating");
      case "auto_closed": return ZD.t("ev.auto_closed", { h: d.after_hours ?? "" });
      case "cancelled": return d.reason ? ZD.t("ev.cancelled", { reason: d.reason }) : ZD.t("ev.cancelledNoReason");
      default: return ZD.t("ev.other", { kind: humanise(e.kind) });
    }
  }
  // One value of an event's data, readable: names for ids, local times, skills.
  function eventValue(k, v, names) {
    if (v === null || v === undefined || v === "") return ZD.t("none");
    if (Array.isArray(v)) v = v.filter((x) => x !== null && x !== undefined);
    if (Array.isArray(v)) return v.length ? v.map((x) => eventValue(k, x, names)).join(ZD.lang() === "zh" ? "、" : ", ") : ZD.t("none");
    if (typeof v === "object") return v.skill ? `${ZD.skillName(v.skill)} × ${v.count}` : Object.entries(v).map(([a, b]) => `${a}: ${eventValue(a, b, names)}`).join("; ");
    if (typeof v === "string" && UUID.test(v)) return names.one(v, k === "team_ids" || k === "team_only" ? "ev.someTeam" : "ev.someone");
    if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return ZD.time(v);
    if (k === "role" || k === "roles") return ZD.skillName(v);
    if (k === "category") return ZD.categoryName(v);
    if (k === "urgency") return ZD.t("urgency." + v);
    if (k === "source") return ZD.t("source." + v);
    if (typeof v === "boolean") return v ? "✓" : "✗";
    return String(v);
  }
  function eventItem(o, e) {
    const names = eventNames(o, e);
    const status = e.to_status ? (e.from_status ? ZD.t("ev.statusMove", { from: ZD.status(e.from_status), to: ZD.status(e.to_status) }) : ZD.t("ev.status", { to: ZD.status(e.to_status) })) : "";
    const data = Object.entries(e.data || {});
    return el("li", { "data-kind": e.kind },
      el("time", { datetime: e.created_at }, ZD.time(e.created_at)),
      el("span", { class: "ev-text" }, eventSentence(o, e, names).replace(/^./, (c) => c.toUpperCase())),
      status ? el("span", { class: "ev-status" }, ZD.lang() === "zh" ? `（${status}）` : ` (${status})`) : "",
      el("span", { class: "ev-actor" }, " · " + eventActor(e, names)),
      data.length ? el("details", {}, el("summary", {}, ZD.t("ev.details")),
        el("dl", {}, data.map(([k, v]) => [el("dt", {}, tOr("evk." + k, k)), el("dd", {}, eventValue(k, v, names))]).flat())) : "");
  }
  // Each order's liaison thread, kept while the dialog re-renders.
  const threads = new Map();
  function renderOrder(o, withCandidates) {
    const body = $("dlg-body");
    body.dataset.order = o.id;
    const info = el("dl", {},
      el("dt", {}, ZD.t("co.col.code")), el("dd", {}, o.code),
      el("dt", {}, ZD.t("co.col.status")), el("dd", {}, el("span", { class: "badge", "data-status": o.status }, ZD.status(o.status))),
      el("dt", {}, ZD.t("co.col.category")), el("dd", {}, ZD.categoryName(o.category), " · ", ZD.t("urgency." + o.urgency)),
      el("dt", {}, ZD.t("co.col.address")), el("dd", {}, o.address),
      el("dt", {}, ZD.t("res.description")), el("dd", {}, o.description),
      el("dt", {}, ZD.t("co.col.filled")), el("dd", {}, `${o.filled} / ${o.headcount}`, ZD.rolesLine(o)),
      el("dt", {}, ZD.t("co.col.source")), el("dd", {}, ZD.t("source." + o.source), o.station ? " · " + o.station : ""),
      o.rating ? [el("dt", {}, ZD.t("res.rating")), el("dd", {}, "★".repeat(o.rating), o.feedback ? " " + o.feedback : "")] : "");
    const assignments = el("table", {}, el("thead", {}, el("tr", {}, ["co.vol.name", "co.team.name", "co.col.status", "vol.distance", "co.col.created", ""].map((k) => el("th", {}, k ? ZD.t(k, { d: "" }) : el("span", { class: "sr-only" }, ZD.t("co.col.actions")))))),
      el("tbody", {}, (o.assignments || []).map((a) => el("tr", {}, el("td", {}, a.volunteer_name), el("td", {}, a.team_name || ""),
        el("td", {}, ZD.t("astate." + a.state) + " · " + ZD.t("how." + a.how, { w: a.wave }) + (a.role ? " · " + ZD.skillName(a.role) : "")), el("td", {}, ZD.distance(a.distance_m)), el("td", {}, ZD.time(a.offered_at)),
        el("td", {}, a.state === "accepted" && ["assigned", "in_progress"].includes(o.status)
          ? el("button", { type: "button", class: "replace", "data-volunteer": a.volunteer_id, onclick: () => candidates(o, cand, a) }, ZD.t("co.replace"))
          : "")))));
    const events = el("ol", { class: "events" }, (o.events || []).map((e) => eventItem(o, e)));
    const err = el("p", { class: "error", role: "alert" });
    const acts = el("div", { class: "row" });
    if (["open", "escalated", "assigned", "in_progress"].includes(o.status) && o.filled < o.headcount) {
      acts.append(el("button", { type: "button", class: "primary", onclick: () => candidates(o, cand) }, ZD.t("co.assign")));
    }
    if (o.status === "escalated" || o.status === "open") {
      acts.append(el("button", { type: "button", onclick: async () => {
        try { await ZD.post(`/orders/${o.id}/redispatch`); await openOrder(o.id); loadEscalations(); } catch (e) { err.textContent = ZD.problemText(e); }
      } }, ZD.t("co.redispatch")));
    }
    let cancelBox = "";
    if (["open", "escalated", "assigned"].includes(o.status)) {
      // Asks first, with a reason the resident and the audit trail get.
      const form = el("form", { class: "cancel-form", novalidate: true },
        el("label", { for: "cancel-why-" + o.id }, ZD.t("co.cancelReason")),
        el("textarea", { id: "cancel-why-" + o.id, name: "reason", rows: "2", required: true, maxlength: "500" }),
        el("p", { class: "error", "data-error-for": "reason", role: "alert" }),
        el("p", { class: "error", "data-error-for": "_form", role: "alert" }),
        el("button", { type: "submit", class: "danger" }, ZD.t("co.cancelConfirm")));
      ZD.onSubmit(form, async () => {
        await ZD.post(`/orders/${o.id}/cancel`, { reason: form.reason.value.trim() });
        ZD.toast(ZD.t("co.cancelled", { code: o.code }));
        await openOrder(o.id); loadEscalations();
      });
      cancelBox = el("details", { class: "confirm cancel-box" }, el("summary", {}, ZD.t("co.cancel")), form);
    }
    const cand = el("div", { class: "candidates" });
    if (!threads.has(o.id)) { threads.set(o.id, ZD.thread(o.id)); threads.get(o.id).load().catch(() => {}); }
    body.replaceChildren(info, acts, cancelBox, err, cand, threads.get(o.id).node, el("h3", {}, ZD.t("co.assignments")), el("div", { class: "table-wrap", tabindex: "0" }, assignments), el("h3", {}, ZD.t("co.events")), events);
    if (withCandidates && acts.querySelector(".primary")) candidates(o, cand);
  }

  // Volunteers who could take the order, nearest first (the server decides).
  // `replacing`: an accepted volunteer to take off the order (a no-show).
  async function candidates(o, box, replacing) {
    const q = el("input", { type: "search", "aria-label": ZD.t("co.searchVol"), placeholder: ZD.t("co.searchVol") });
    const list = el("ul", { class: "list" });
    const err = el("p", { class: "error", role: "alert" });
    // Taking someone off an order asks why (kept in the audit trail).
    const why = el("input", { id: "replace-why-" + o.id, name: "reason", maxlength: "500", required: true });
    const whyErr = el("p", { class: "error", "data-error-for": "reason", role: "alert" });
    why.addEventListener("input", () => { whyErr.textContent = ""; why.setAttribute("aria-invalid", "false"); });
    const taken = new Set((o.assignments || []).filter((a) => ["accepted", "arrived", "completed"].includes(a.state)).map((a) => a.volunteer_id));
    async function fill() {
      const params = new URLSearchParams({ per_page: "500" });
      if (o.required_skills.length) params.set("skill", o.required_skills[0]);
      if (q.value.trim()) params.set("q", q.value.trim()); else params.set("on_duty", "true");
      const r = await ZD.get("/volunteers?" + params);
      const rows = r.items.filter((v) => !taken.has(v.id) && o.required_skills.every((s) => v.skills.includes(s)))
        .map((v) => ({ v, d: v.lat !== null && v.lat !== undefined ? ZD.haversine(v.lat, v.lon, o.lat, o.lon) : Infinity }))
        .sort((a, b) => a.d - b.d).slice(0, 15);
      list.replaceChildren(...rows.map(({ v, d }) => el("li", { class: "row", "data-volunteer": v.id },
        el("span", {}, el("strong", {}, v.display_name), ` · ${v.team_name} · ${Number.isFinite(d) ? ZD.distance(d) : ZD.t("none")} · ${v.active_tasks}/${v.capacity}`, v.on_duty ? "" : ` · ${ZD.t("vol.offDuty")}`),
        el("button", { type: "button", class: "ok assign", onclick: async (ev) => {
          if (replacing && !why.value.trim()) {
            whyErr.textContent = ZD.t("err.required"); why.setAttribute("aria-invalid", "true"); why.focus(); return;
          }
          ev.target.disabled = true;
          try {
            await ZD.post(`/orders/${o.id}/assign`, replacing ? { volunteer_id: v.id, replace_volunteer_id: replacing.volunteer_id, reason: why.value.trim() } : { volunteer_id: v.id });
            ZD.toast(ZD.t("co.assigned", { name: v.display_name }));
            await openOrder(o.id);
            loadEscalations();
          } catch (e) { err.textContent = ZD.problemText(e); ev.target.disabled = false; }
        } }, ZD.t("co.assign")))));
    }
    q.addEventListener("input", () => { clearTimeout(q.timer); q.timer = setTimeout(fill, 250); });
    box.replaceChildren(el("h3", {}, replacing ? ZD.t("co.replacing", { name: replacing.volunteer_name }) : ZD.t("co.candidates")),
      replacing ? el("div", { class: "replace-why" }, el("label", { for: "replace-why-" + o.id }, ZD.t("co.replaceReason", { name: replacing.volunteer_name })), why, whyErr) : "",
      q, err, list);
    await fill();
  }

  // ---------- orders table ----------
  let orderPage = 1;
  async function loadOrders() {
    const form = $("order-filters");
    ZD.clearErrors(form);
    const params = new URLSearchParams({ page: String(orderPage), per_page: "50" });
    new FormData(form).forEach((v, k) => { if (String(v).trim()) params.set(k, String(v).trim()); });
    let r;
    try { r = await ZD.get("/orders?" + params); } catch (e) { ZD.showProblem(form, e); return; }
    const body = $("orders-table").querySelector("tbody");
    body.replaceChildren(...r.items.map((o) => {
      const tr = el("tr", { class: "clickable", tabindex: "0", "data-order": o.id },
        el("td", {}, o.code), el("td", {}, el("span", { class: "badge", "data-status": o.status }, ZD.status(o.status))),
        el("td", {}, ZD.categoryName(o.category)), el("td", {}, ZD.t("urgency." + o.urgency)), el("td", {}, o.address),
        el("td", {}, `${o.filled}/${o.headcount}`), el("td", {}, ZD.t("source." + o.source)), el("td", {}, ZD.time(o.created_at)));
      tr.addEventListener("click", () => openOrder(o.id));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openOrder(o.id); });
      return tr;
    }));
    const pagesN = Math.max(1, Math.ceil(r.total / 50));
    $("page-info").textContent = ZD.t("co.page", { p: orderPage, n: r.total });
    $("prev").disabled = orderPage <= 1;
    $("next").disabled = orderPage >= pagesN;
  }
  $("order-filters").addEventListener("submit", (e) => { e.preventDefault(); orderPage = 1; loadOrders(); });
  $("prev").addEventListener("click", () => { orderPage--; loadOrders(); });
  $("next").addEventListener("click", () => { orderPage++; loadOrders(); });

  // ---------- escalations ----------
  async function loadEscalations() {
    const list = await ZD.get("/escalations");
    $("esc-count").textContent = String(list.length);
    $("esc-count").hidden = list.length === 0; // no badge at 0
    $("escalations").replaceChildren(...(list.length ? list.map((o) => el("li", { "data-order": o.id },
      el("div", { class: "row" }, el("strong", {}, o.code), el("span", {}, ZD.categoryName(o.category), " · ", ZD.t("urgency." + o.urgency)),
        el("span", { class: "muted" }, ZD.t("co.escalatedAt", { t: ZD.time(o.escalated_at) }))),
      el("div", {}, o.address, " · ", o.description),
      el("div", { class: "row" },
        el("button", { type: "button", class: "primary handle", onclick: () => openOrder(o.id, true) }, ZD.t("co.assign")),
        el("button", { type: "button", onclick: async () => { await ZD.post(`/orders/${o.id}/redispatch`).catch((e) => ZD.toast(ZD.problemText(e), true)); loadEscalations(); } }, ZD.t("co.redispatch")))))
      : [el("li", { class: "muted" }, ZD.t("co.noEscalations"))]));
  }

  // ---------- roster ----------
  async function loadTeams() {
    const q = $("team-q").value.trim();
    const r = await ZD.get("/teams?per_page=500" + (q ? "&q=" + encodeURIComponent(q) : ""));
    if (!q) teams = r.items;
    $("teams-total").textContent = ZD.t("co.teamsTotal", { n: r.total });
    findPeople(q).catch((e) => { $("people-found").replaceChildren(el("p", { class: "error", role: "alert" }, ZD.problemText(e))); });
    $("teams-table").querySelector("tbody").replaceChildren(...r.items.map((t) => {
      const tr = el("tr", { class: "clickable", tabindex: "0", "data-team": t.id },
        el("td", {}, t.name), el("td", {}, kindName(t.kind)), el("td", {}, t.area || ""), el("td", {}, String(t.member_count)), el("td", {}, String(t.on_duty_count)));
      tr.addEventListener("click", () => openTeam(t));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openTeam(t); });
      return tr;
    }));
  }
  // The same search finds people (name or phone), each opening their edit dialog.
  async function findPeople(q) {
    const box = $("people-found");
    if (!q) { box.replaceChildren(); return; }
    const r = await ZD.get("/volunteers?per_page=20&q=" + encodeURIComponent(q));
    if ($("team-q").value.trim() !== q) return;
    const teamOf = (v) => teams.find((t) => t.id === v.team_id) || { id: v.team_id, name: v.team_name };
    const rows = r.items.map((v) => el("tr", { "data-volunteer": v.id },
      el("td", {}, v.display_name), el("td", {}, v.phone), el("td", {}, v.team_name || ""), el("td", {}, v.on_duty ? ZD.t("co.vol.onDutyYes") : ""),
      el("td", {}, el("button", { type: "button", onclick: () => editVolunteer(v, teamOf(v)) }, ZD.t("co.edit")))));
    box.replaceChildren(
      el("h3", {}, ZD.t("co.peopleFound", { n: r.total })),
      r.items.length ? el("div", { class: "table-wrap", tabindex: "0" }, el("table", { id: "people-table" },
        el("thead", {}, el("tr", {}, ["co.vol.name", "co.vol.phone", "co.team.name", "co.vol.duty"].map((k) => el("th", {}, ZD.t(k))), el("th", {}, el("span", { class: "sr-only" }, ZD.t("co.col.actions"))))),
        el("tbody", {}, rows))) : "",
      r.total > r.items.length ? el("p", { class: "muted" }, ZD.t("co.peopleMore", { shown: r.items.length })) : "");
  }
  $("team-q").addEventListener("input", () => { clearTimeout(loadTeams.timer); loadTeams.timer = setTimeout(loadTeams, 250); });

  async function openTeam(t) {
    const cat = await ZD.catalogue();
    const form = el("form", { class: "filters team-edit", novalidate: true },
      ...[["name", "co.team.name"], ["area", "co.team.area"], ["station", "co.team.station"]].map(([f, k]) =>
        el("div", {}, el("label", { for: "te-" + f }, ZD.t(k)), el("input", { id: "te-" + f, name: f, value: t[f] || "" }), el("p", { class: "error", "data-error-for": f, role: "alert" }))),
      el("div", {}, el("label", { for: "te-kind" }, ZD.t("co.team.kind")),
        el("select", { id: "te-kind", name: "kind" }, cat.team_kinds.map((k) => el("option", { value: k.code, selected: k.code === t.kind }, ZD.lang() === "zh" ? k.name_zh : k.name_en))),
        el("p", { class: "error", "data-error-for": "kind", role: "alert" })),
      el("div", {}, el("button", { type: "submit", class: "primary" }, ZD.t("co.save"))),
      el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
    ZD.onSubmit(form, async (f) => {
      const body = {};
      ["name", "kind", "area", "station"].forEach((k) => { body[k] = String(f.get(k)).trim(); });
      const saved = await ZD.api("PATCH", "/teams/" + t.id, body);
      Object.assign(t, saved);
      ZD.toast(ZD.t("co.saved"));
      loadTeams();
    });
    const members = await pages("/volunteers?team_id=" + t.id);
    const table = el("table", {}, el("thead", {}, el("tr", {}, ["co.vol.name", "co.vol.phone", "co.vol.skills", "co.vol.capacity", "co.vol.leader", "co.vol.duty", ""].map((k) => el("th", {}, k ? ZD.t(k) : el("span", { class: "sr-only" }, ZD.t("co.col.actions")))))),
      el("tbody", {}, members.map((v) => el("tr", { "data-volunteer": v.id },
        el("td", {}, v.display_name), el("td", {}, v.phone), el("td", {}, v.skills.map(ZD.skillName).join("、")),
        el("td", {}, String(v.capacity)), el("td", {}, v.is_leader ? "✓" : ""), el("td", {}, v.on_duty ? "✓" : ""),
        el("td", {}, el("button", { type: "button", onclick: () => editVolunteer(v, t) }, ZD.t("co.edit")))))));
    const notice = el("form", { class: "broadcast", novalidate: true },
      el("label", { for: "bc-text" }, ZD.t("co.broadcast")),
      el("textarea", { id: "bc-text", name: "text", maxlength: "1000", rows: "2" }),
      el("p", { class: "error", "data-error-for": "text", role: "alert" }),
      el("button", { type: "submit" }, ZD.t("co.broadcast.send")),
      el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
    ZD.onSubmit(notice, async (f) => {
      const text = String(f.get("text")).trim();
      if (!text) { ZD.fieldError(notice, "text", ZD.t("err.required")); return; }
      const sent = await ZD.post(`/teams/${t.id}/broadcasts`, { text });
      ZD.toast(ZD.t("co.broadcast.sent", { n: sent.recipients }));
      notice.reset();
    });
    $("team-detail").replaceChildren(el("h2", {}, t.name), form, notice, el("h3", {}, ZD.t("co.members") + ` (${members.length})`), el("div", { class: "table-wrap", tabindex: "0" }, table));
    $("team-detail").scrollIntoView({ block: "start" });
  }

  async function editVolunteer(v, t) {
    const cat = await ZD.catalogue();
    const form = el("form", { novalidate: true },
      el("label", { for: "ve-name" }, ZD.t("co.vol.name")), el("input", { id: "ve-name", name: "display_name", value: v.display_name, required: true }),
      el("p", { class: "error", "data-error-for": "display_name", role: "alert" }),
      el("fieldset", {}, el("legend", {}, ZD.t("co.vol.skills")), cat.skills.map((s) => el("div", { class: "row" },
        el("label", { class: "switch" },
          el("input", { type: "checkbox", name: "skills", value: s.code, checked: v.skills.includes(s.code) }), ZD.skillName(s.code)),
        s.needs_certificate ? el("label", { for: "ve-cert-" + s.code, class: "muted" }, ZD.t("co.cert.until")) : null,
        s.needs_certificate ? el("input", { id: "ve-cert-" + s.code, name: "cert-" + s.code, type: "date",
          value: (v.certificates || []).find((c) => c.skill === s.code)?.certified_until || "" }) : null))),
      el("p", { class: "error", "data-error-for": "skills", role: "alert" }),
      el("p", { class: "error", "data-error-for": "certificates", role: "alert" }),
      el("label", { for: "ve-cap" }, ZD.t("co.vol.capacity")), el("input", { id: "ve-cap", name: "capacity", type: "number", min: "0", max: "10", value: String(v.capacity) }),
      el("p", { class: "error", "data-error-for": "capacity", role: "alert" }),
      el("label", { class: "switch" }, el("input", { type: "checkbox", name: "is_leader", checked: v.is_leader }), ZD.t("co.vol.leader")),
      el("div", { class: "row" }, el("button", { type: "submit", class: "primary" }, ZD.t("co.save"))),
      el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
    ZD.onSubmit(form, async (f) => {
      const skills = f.getAll("skills");
      const certificates = {};
      for (const code of skills) { const d = f.get("cert-" + code); if (d) certificates[code] = d; }
      await ZD.api("PATCH", "/volunteers/" + v.id, {
        display_name: String(f.get("display_name")).trim(), skills, certificates,
        capacity: Number(f.get("capacity")), is_leader: f.get("is_leader") !== null,
      });
      ZD.toast(ZD.t("co.saved"));
      dialog.close();
      openTeam(t);
    });
    $("dlg-body").dataset.order = "";
    $("dlg-title").textContent = ZD.t("co.vol.edit"); // the dialog is the order's too
    const record = el("p", { class: "muted", "data-reliability": v.id }, ZD.t("vol.reliability") + "：…");
    $("dlg-body").replaceChildren(el("h3", {}, v.display_name + " · " + v.phone), record, form);
    if (!dialog.open) dialog.showModal();
    ZD.get(`/volunteers/${v.id}/reliability`)
      .then((r) => { record.textContent = ZD.t("vol.reliability") + "：" + ZD.t("vol.reliabilityLine", r); })
      .catch(() => { record.textContent = ""; });
  }

  ZD.onSubmit($("import-form"), async () => {
    const file = $("import-file").files[0];
    const text = await file.text();
    const r = await ZD.post("/roster/import", text, { headers: { "Content-Type": "text/csv" } });
    $("import-report").replaceChildren(
      el("p", { class: "summary" }, ZD.t("co.report", r)),
      el("div", { class: "table-wrap", tabindex: "0" }, el("table", { id: "report-table" },
        el("thead", {}, el("tr", {}, ["co.report.line", "co.report.phone", "co.report.status", "co.report.errors"].map((k) => el("th", {}, ZD.t(k))))),
        el("tbody", {}, r.lines.map((l) => el("tr", { class: l.status === "error" ? "failed" : "", "data-line": String(l.line) },
          el("td", {}, String(l.line)), el("td", {}, l.phone || ""), el("td", {}, ZD.t("co.line." + l.status)),
          el("td", {}, (l.errors || []).map((e) => `${e.field}: ${e.message}`).join("; "))))))));
    loadTeams();
  });
  $("export").addEventListener("click", () => download("/roster/export", "roster.csv"));

  // ---------- station slip ----------
  let slipMap = null, slipMarker = null;
  async function loadSlip() {
    const cat = await ZD.catalogue();
    if (!teams.length) await loadTeams();
    ZD.options($("slip-category"), cat.categories.map((c) => [c.code, ZD.categoryName(c.code)]));
    ZD.options($("slip-urgency"), cat.urgencies.map((u) => [u, ZD.t("urgency." + u)]));
    if (!$("slip-urgency").dataset.init) { $("slip-urgency").value = "urgent"; $("slip-urgency").dataset.init = "1"; }
    ZD.options($("slip-team"), [["", ZD.t("co.slip.none")], ...teams.map((t) => [t.id, t.name])]);
    const kept = Object.fromEntries([...document.querySelectorAll("#slip-role-list input")].map((i) => [i.name, i.value]));
    $("slip-role-list").replaceChildren(...cat.skills.map((k) => el("div", {},
      el("label", { for: "slip-role-" + k.code }, ZD.skillName(k.code)),
      el("input", { id: "slip-role-" + k.code, name: "role-" + k.code, type: "number", min: "0", max: "20", value: kept["role-" + k.code] || "0" }))));
    $("stations").replaceChildren(...[...new Set(teams.map((t) => t.station).filter(Boolean))].map((s) => el("option", { value: s })));
    if (!slipMap) {
      slipMap = await ZD.map($("slip-map"), { zoom: 12 });
      slipMap.on("click", (e) => {
        const p = ZD.fromMap(e.latlng);
        slipPlace(p.lat, p.lon, false);
        $("slip-coords").value = `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}`;
      });
    }
  }
  // The slip's place (WGS-84): the hidden fields sent, the marker, the note.
  function slipPlace(lat, lon, pan) {
    $("slip-lat").value = lat.toFixed(6); $("slip-lon").value = lon.toFixed(6);
    $("slip-picked").textContent = ZD.t("res.picked", { lat: lat.toFixed(5), lon: lon.toFixed(5) });
    $("slip-form").querySelectorAll('[data-error-for="lat"], [data-error-for="coords"]').forEach((e) => { e.textContent = ""; });
    $("slip-coords").setAttribute("aria-invalid", "false");
    if (!slipMap) return;
    if (slipMarker) slipMarker.setLatLng(ZD.toMap(lat, lon)); else slipMarker = ZD.dot(lat, lon, "#c8102e", 9).addTo(slipMap);
    if (pan) ZD.goTo(slipMap, lat, lon, 15);
  }
  // Coordinates typed or pasted: "27.57, 120.56", "27.57 120.56" (latitude
  // first), or "120.56,27.57" when the first cannot be a latitude.
  // [lat, lon], or null.
  function parseCoords(text) {
    const m = String(text).trim().match(/^(-?\d+(?:\.\d+)?)°?\s*(?:[,，;；/]\s*|\s+)(-?\d+(?:\.\d+)?)°?$/);
    if (!m) return null;
    let [a, b] = [Number(m[1]), Number(m[2])];
    if (Math.abs(a) > 90 && Math.abs(b) <= 90) [a, b] = [b, a];
    return Math.abs(a) <= 90 && Math.abs(b) <= 180 ? [a, b] : null;
  }
  // Pasted coordinates are placed at once, typed ones after a pause (not
  // at every digit: "27.56 1" on the way to "27.56 120.5" would be Africa);
  // a wrong text is named when the field is left (or the slip sent).
  function slipCoords(report) {
    const text = $("slip-coords").value;
    if (!text.trim()) return true;
    const p = parseCoords(text);
    if (p) { slipPlace(p[0], p[1], true); return true; }
    if (report) ZD.fieldError($("slip-form"), "coords", ZD.t("co.slip.badCoords"));
    return false;
  }
  $("slip-coords").addEventListener("input", (e) => {
    clearTimeout(slipCoords.timer);
    if (/^insertFrom(Paste|Drop)/.test(e.inputType || "")) slipCoords(false);
    else slipCoords.timer = setTimeout(() => slipCoords(false), 800);
  });
  ZD.onSubmit($("slip-form"), async (f) => {
    const form = $("slip-form");
    clearTimeout(slipCoords.timer);
    if (!slipCoords(true)) { $("slip-coords").focus(); return; }
    if (!$("slip-lat").value) { ZD.fieldError(form, "lat", ZD.t("co.slip.needPlace")); $("slip-coords").focus(); return; }
    const body = {
      source: "station", station: String(f.get("station")).trim(), category: f.get("category"),
      lat: Number(f.get("lat")), lon: Number(f.get("lon")), address: String(f.get("address")).trim(),
      description: String(f.get("description")).trim(), headcount: Number(f.get("headcount") || 1), urgency: f.get("urgency"),
    };
    if (f.get("target_team_id")) body.target_team_id = f.get("target_team_id");
    // Roles of a joint incident: the headcount is their sum.
    const roles = [...f.entries()].filter(([k, v]) => k.startsWith("role-") && Number(v) > 0)
      .map(([k, v]) => ({ skill: k.slice(5), count: Number(v) }));
    if (roles.length) { body.roles = roles; delete body.headcount; }
    if (String(f.get("contact_phone")).trim()) body.contact_phone = String(f.get("contact_phone")).trim();
    const o = await ZD.post("/orders", body);
    ZD.toast(ZD.t("co.slip.created", { code: o.code }));
    form.querySelector("[name=address]").value = "";
    form.querySelector("[name=description]").value = "";
    form.querySelectorAll("#slip-role-list input").forEach((i) => { i.value = "0"; });
  });
  // After the form's own change handler (which clears a field's hint).
  $("slip-form").addEventListener("change", (e) => { if (e.target.id === "slip-coords") { clearTimeout(slipCoords.timer); slipCoords(true); } });

  // ---------- statistics ----------
  // Horizontal bars, one per team with its full name and value (also its
  // title on hover), on a round scale (steps of 1, 2 or 5 × 10ⁿ).
  function niceStep(max, minStep) {
    const raw = Math.max(max, Number.EPSILON) / 5;
    const p = 10 ** Math.floor(Math.log10(raw));
    return Math.max([1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw - 1e-9), minStep || 0);
  }
  function bars(id, rows, fmt, opts) {
    const o = opts || {};
    const box = $(id);
    box.removeAttribute("role"); box.removeAttribute("aria-label");
    const has = (v) => v !== null && v !== undefined;
    const known = rows.filter((r) => has(r.value));
    if (!known.length) { box.replaceChildren(el("p", { class: "muted chart-empty" }, ZD.t(rows.length ? "co.stats.noData" : "co.stats.chartEmpty"))); return; }
    const max = Math.max(0, ...known.map((r) => r.value));
    const step = niceStep(o.max || max || 1, o.minStep);
    const top = o.max || Math.max(step, Math.ceil(max / step - 1e-9) * step);
    const ticks = [];
    for (let i = 0; i * step <= top + 1e-9; i++) ticks.push(i * step);
    const pos = (v) => `${Math.min(100, (v / top) * 100).toFixed(2)}%`;
    box.replaceChildren(
      el("ul", { class: "hbars", style: `--steps:${ticks.length - 1}` }, rows.map((r) => {
        const text = has(r.value) ? fmt(r.value) : ZD.t("none");
        return el("li", { title: `${r.name}: ${text}`, "data-team": r.id },
          el("span", { class: "hbar-name" }, r.name), el("span", { class: "sr-only" }, ": "),
          el("span", { class: "hbar-track", "aria-hidden": "true" }, r.value > 0 ? el("span", { class: "hbar-fill", style: `width:${pos(r.value)}` }) : ""),
          el("span", { class: "hbar-value" }, text));
      })),
      el("div", { class: "hbar-axis", "aria-hidden": "true" }, el("span"),
        el("span", { class: "hbar-ticks" }, ticks.map((t) => el("span", { style: `left:${pos(t)}` }, fmt(t)))), el("span")));
  }
  let statRows = [], showZero = false;
  function drawStats() {
    const split = $("panel-stats").querySelector(".split");
    let empty = $("stats-empty"), toggle = $("stats-zero");
    if (!empty) {
      empty = el("p", { id: "stats-empty", class: "muted chart-empty", hidden: true });
      toggle = el("button", { type: "button", id: "stats-zero", class: "link", hidden: true, onclick: () => { showZero = !showZero; drawStats(); } });
      split.before(empty, toggle);
    }
    const busy = statRows.filter((s) => s.offers > 0), idle = statRows.filter((s) => s.offers === 0);
    empty.textContent = ZD.t("co.stats.chartEmpty");
    empty.hidden = busy.length > 0;
    split.hidden = !busy.length;
    toggle.hidden = !busy.length || !idle.length;
    toggle.textContent = ZD.t(showZero ? "co.stats.hideZero" : "co.stats.showZero", { n: idle.length });
    toggle.setAttribute("aria-expanded", String(showZero));
    const top = busy.slice(0, 20).concat(showZero ? idle : []);
    const row = (s, v) => ({ id: s.team_id, name: s.team_name, value: v });
    const round1 = (v) => String(Math.round(v * 10) / 10);
    bars("chart-rate", top.map((s) => row(s, s.acceptance_rate === null ? null : s.acceptance_rate * 100)), (v) => Math.round(v) + "%", { max: 100 });
    bars("chart-first", top.map((s) => row(s, s.avg_first_accept_secs)), (v) => String(Math.round(v)), { minStep: 1 });
    bars("chart-completion", top.map((s) => row(s, s.avg_completion_secs === null ? null : s.avg_completion_secs / 60)), round1);
    bars("chart-noshows", top.map((s) => row(s, s.no_shows)), (v) => String(Math.round(v)), { minStep: 1 });
  }
  async function loadStats() {
    const form = $("stats-form");
    ZD.clearErrors(form);
    const params = new URLSearchParams();
    if ($("s-from").value) params.set("from", $("s-from").value);
    if ($("s-to").value) params.set("to", $("s-to").value);
    let r;
    try { r = await ZD.get("/stats/teams?" + params); } catch (e) { ZD.showProblem(form, e); return; }
    if (!$("s-from").value) $("s-from").value = r.from;
    if (!$("s-to").value) $("s-to").value = r.to;
    const rows = r.items.slice().sort((a, b) => b.offers - a.offers || a.team_name.localeCompare(b.team_name));
    const pct = (x) => (x === null || x === undefined ? ZD.t("none") : Math.round(x * 100) + "%");
    $("stats-table").querySelector("tbody").replaceChildren(...rows.map((s) => el("tr", { "data-team": s.team_id },
      el("td", {}, s.team_name), el("td", {}, String(s.offers)), el("td", {}, String(s.accepted)), el("td", {}, pct(s.acceptance_rate)),
      el("td", {}, String(s.orders_served)), el("td", {}, ZD.duration(s.avg_first_accept_secs)), el("td", {}, String(s.completed)),
      el("td", {}, ZD.duration(s.avg_completion_secs)), el("td", {}, String(s.no_shows)))));
    statRows = rows;
    drawStats();
  }
  $("stats-form").addEventListener("submit", (e) => { e.preventDefault(); loadStats(); });
  async function loadBoard() {
    const r = await ZD.get(`/leaderboard?scope=${$("b-scope").value}&period=${$("b-period").value}&limit=20`);
    $("board").querySelector("tbody").replaceChildren(...r.items.map((x) => el("tr", {},
      el("td", {}, String(x.rank)), el("td", {}, x.name), el("td", {}, x.team_name || ""), el("td", {}, String(x.points)))));
  }
  $("b-scope").addEventListener("change", loadBoard);
  $("b-period").addEventListener("change", loadBoard);

  // ---------- points ----------
  let idemKey = ZD.uuid();
  async function searchVolunteers() {
    const q = $("p-search").value.trim();
    const r = await ZD.get("/volunteers?per_page=20" + (q ? "&q=" + encodeURIComponent(q) : ""));
    ZD.options($("p-volunteer"), r.items.map((v) => [v.id, `${v.display_name} · ${v.phone} · ${v.team_name}`]));
  }
  $("p-search").addEventListener("input", () => { clearTimeout(searchVolunteers.timer); searchVolunteers.timer = setTimeout(searchVolunteers, 250); });
  // The chosen volunteer with their balance, so an adjustment is made knowing it.
  async function showChosen() {
    const opt = $("p-volunteer").selectedOptions[0];
    $("p-chosen").textContent = opt ? opt.textContent : "";
    if (!opt) return;
    const p = await ZD.get(`/volunteers/${opt.value}/points`);
    if ($("p-volunteer").value !== opt.value) return;
    $("p-chosen").textContent = `${opt.textContent} · ${ZD.t("co.points.balance", { n: p.balance })}`;
  }
  $("p-volunteer").addEventListener("change", () => { showChosen().catch(() => {}); });
  ["p-amount", "p-reason", "p-kind", "p-volunteer"].forEach((id) => $(id).addEventListener("input", () => { idemKey = ZD.uuid(); }));
  ZD.onSubmit($("points-form"), async (f) => {
    const body = { volunteer_id: f.get("volunteer_id"), amount: Number(f.get("amount")), reason: String(f.get("reason")).trim(), kind: f.get("kind") };
    await ZD.post("/points/adjustments", body, { headers: { "Idempotency-Key": idemKey } });
    idemKey = ZD.uuid();
    const after = await ZD.get(`/volunteers/${body.volunteer_id}/points`).catch(() => null);
    ZD.toast(ZD.t("co.points.done", { name: $("p-volunteer").selectedOptions[0]?.textContent.split(" · ")[0] || "", amount: body.amount })
      + (after ? " · " + ZD.t("co.points.balance", { n: after.balance }) : ""));
    $("points-form").reset();
    $("p-chosen").textContent = "";
  });
  $("points-export").addEventListener("click", () => download("/points/export", "points.csv"));

  // ---------- live feed ----------
  function onLive(m) {
    if (m.type === "shift_left") {
      ZD.toast(ZD.t("co.rota.leftAlert", { name: m.display_name, at: ZD.time(m.starts_at), reason: m.reason }), true);
      if (loaded.has("rota")) showRota().catch(() => {});
      return;
    }
    if (m.type === "volunteer_position" && liveMap && !m.order_id) { movedVolunteer(m); return; }
    if (m.type === "volunteer_duty" && liveMap) {
      const marker = volMarkers.get(m.volunteer_id);
      if (!m.on_duty && marker && volFilter().onDuty) { volLayer.removeLayer(marker); volMarkers.delete(m.volunteer_id); counts(); }
      return;
    }
    if (!m.order_id) return;
    if (m.type === "order_message") { threads.get(m.order_id)?.add(m); return; }
    if (m.type === "certificate_expiring") ZD.toast(ZD.t("co.cert.alert", { name: m.volunteer_name, skill: ZD.skillName(m.skill), n: m.days_left }));
    if (m.type === "volunteer_overdue") ZD.toast(ZD.t("co.overdue", { code: m.code, t: ZD.time(m.expected_by) }), true);
    if (liveMap) ZD.get("/orders/" + m.order_id).then(placeOrder).catch(() => {});
    if (m.type === "order_status" || m.type === "order_created" || m.type === "order_cancelled") loadEscalations().catch(() => {});
    if (dialog.open && m.type !== "volunteer_position" && $("dlg-body").dataset.order === m.order_id && !$("dlg-body").querySelector(".candidates li")) {
      openOrder(m.order_id).catch(() => {});
    }
  }

  const loaders = {
    map: () => loadMap().catch((e) => ZD.toast(ZD.problemText(e), true)),
    orders: async () => {
      const cat = await ZD.catalogue();
      if (!teams.length) await loadTeams();
      ZD.options($("f-status"), ["open", "escalated", "assigned", "in_progress", "completed", "confirmed", "closed", "cancelled"].map((s) => [s, ZD.status(s)]), true);
      ZD.options($("f-category"), cat.categories.map((c) => [c.code, ZD.categoryName(c.code)]), true);
      ZD.options($("f-urgency"), cat.urgencies.map((u) => [u, ZD.t("urgency." + u)]), true);
      ZD.options($("f-team"), teams.map((t) => [t.id, t.name]), true);
      await loadOrders();
    },
    escalations: () => loadEscalations(),
    roster: () => loadTeams(),
    slip: () => loadSlip(),
    stats: () => Promise.all([loadStats(), loadBoard()]),
    points: () => searchVolunteers(),
    readiness: () => loadReadiness().catch((e) => ZD.toast(ZD.problemText(e), true)),
    rota: () => loadRota().catch((e) => ZD.toast(ZD.problemText(e), true)),
  };

  // ---------- readiness: coverage now, certificates running out ----------
  let covMap = null, covLayer = null;
  async function loadReadiness() {
    const cat = await ZD.catalogue();
    ZD.options($("cov-skill"), cat.skills.map((k) => [k.code, ZD.skillName(k.code)]));
    covMap = await ZD.map($("cov-map"), { zoom: 12 });
    covLayer = L.layerGroup().addTo(covMap);
    await Promise.all([showCoverage(), showExpiring()]);
  }
  async function showCoverage() {
    const skill = $("cov-skill").value, radius = $("cov-radius").value;
    const c = await ZD.get(`/coverage?skill=${encodeURIComponent(skill)}&radius_m=${radius}`);
    covLayer.clearLayers();
    const mPerDeg = 111195;
    for (const cell of c.cells) {
      const dLat = c.cell_m / 2 / mPerDeg, dLon = c.cell_m / 2 / (mPerDeg * Math.cos(cell.lat * Math.PI / 180));
      const color = cell.available === 0 ? "#c8102e" : cell.available === 1 ? "#f5b041" : "#1e8449";
      L.rectangle([ZD.toMap(cell.lat - dLat, cell.lon - dLon), ZD.toMap(cell.lat + dLat, cell.lon + dLon)],
        { color, weight: 0, fillOpacity: cell.available === 0 ? 0.35 : 0.25 })
        .bindTooltip(ZD.t("co.cov.cell", { n: cell.available }))
        .addTo(covLayer);
    }
    if (c.cells.length) covMap.fitBounds(covLayer.getLayers().map((r) => r.getBounds()).reduce((a, b) => a.extend(b)));
    const hm = (iso) => new Date(iso).toLocaleString(ZD.lang() === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
    const least = Math.min(...c.ahead.map((h) => h.on_shift));
    $("cov-ahead").textContent = ZD.t("co.cov.ahead", { least: Number.isFinite(least) ? least : 0, most: Math.max(0, ...c.ahead.map((h) => h.on_shift)) });
    const who = c.skills.map(ZD.skillName).join("、") || ZD.t("co.cov.anyone");
    $("cov-gaps").replaceChildren(...(c.gaps_ahead.length ? c.gaps_ahead.map((g) => el("li", { "data-place": g.place },
      ZD.t("co.cov.gapAhead", { place: g.place, skill: who, r: c.radius_m >= 1000 ? `${c.radius_m / 1000} km` : `${c.radius_m} m`, from: hm(g.from), to: hm(g.to) })))
      : [el("li", { class: "muted" }, ZD.t("co.cov.noGapsAhead"))]));
    $("cov-summary").textContent = ZD.t("co.cov.summary", { skill: c.skills.map(ZD.skillName).join("、") || ZD.t("co.cov.anyone"), n: c.available, gaps: c.gaps, cells: c.cells.length, r: c.radius_m });
  }
  async function showExpiring() {
    const r = await ZD.get(`/certificates/expiring?within_days=${$("cert-days").value}`);
    $("cert-table").querySelector("tbody").replaceChildren(...r.items.map((i) => el("tr", { "data-volunteer": i.volunteer_id },
      el("td", {}, i.display_name), el("td", {}, i.team_name), el("td", {}, ZD.skillName(i.skill)),
      el("td", {}, i.certified_until), el("td", {}, ZD.t("co.cert.days", { n: i.days_left })))));
    $("cert-empty").hidden = r.items.length > 0;
  }
  ZD.onSubmit($("cov-form"), () => showCoverage());
  ZD.onSubmit($("cert-form"), () => showExpiring());

  // ---------- rota (week view, gaps highlighted) and service hours ----------
  // The week view is in the city's time (China Standard Time), as the API's days are.
  const pad = (n) => String(n).padStart(2, "0");
  const CITY_TZ = "Asia/Shanghai";
  const cityDay = (d) => d.toLocaleDateString("sv-SE", { timeZone: CITY_TZ });
  let rotaReady = false;
  async function loadRota() {
    if (!rotaReady) {
      if (!teams.length) await loadTeams();
      const me = await ZD.get("/me");
      const mine = me.team_ids ? teams.filter((t) => me.team_ids.includes(t.id)) : teams;
      ZD.options($("rota-team"), mine.map((t) => [t.id, t.name]));
      $("rota-from").value = cityDay(new Date());
      $("rota-team").addEventListener("change", () => showRota().catch((e) => ZD.toast(ZD.problemText(e), true)));
      rotaReady = true;
    }
    await Promise.all([showRota(), showHours()]);
  }
  async function showRota() {
    const team = $("rota-team").value;
    if (!team) return;
    const from = $("rota-from").value || cityDay(new Date());
    const start = Date.parse(from + "T00:00:00+08:00");
    const to = cityDay(new Date(start + 6 * 86400000));
    const [r, members] = await Promise.all([
      ZD.get(`/teams/${team}/shifts?from=${from}&to=${to}`),
      pages("/volunteers?team_id=" + team),
    ]);
    // The member list is rebuilt only for another team, so a choice being
    // made survives a refresh of the week.
    const pick = $("shift-volunteers");
    if (pick.dataset.team !== team || pick.options.length !== members.length) {
      ZD.options(pick, members.map((v) => [v.id, v.display_name]));
      pick.dataset.team = team;
    }
    const days = [...Array(7)].map((_, i) => start + i * 86400000);
    const fmtDay = (t) => new Date(t).toLocaleDateString(ZD.lang() === "zh" ? "zh-CN" : "en-GB", { timeZone: CITY_TZ, weekday: "short", month: "2-digit", day: "2-digit" });
    $("rota-week").querySelector("thead tr").replaceChildren(el("th", { scope: "col" }, ZD.t("co.rota.hour")),
      ...days.map((d) => el("th", { scope: "col" }, fmtDay(d))));
    const gaps = r.uncovered.map((g) => [new Date(g.starts_at).getTime(), new Date(g.ends_at).getTime()]);
    let gapHours = 0;
    const rows = [...Array(24)].map((_, h) => el("tr", {}, el("th", { scope: "row" }, `${pad(h)}:00`), ...days.map((d) => {
      const a = d + h * 3600000, b = a + 3600000;
      const on = r.shifts.filter((s) => new Date(s.starts_at).getTime() < b && new Date(s.ends_at).getTime() > a)
        .flatMap((s) => s.members.filter((m) => !m.left_at).map((m) => m.display_name));
      const gap = gaps.some(([x, y]) => x < b && y > a) && on.length === 0;
      if (gap) gapHours += 1;
      return el("td", { class: gap ? "gap" : "covered", "data-hour": new Date(a).toISOString(), title: on.join("、") || ZD.t("co.rota.gap") },
        on.length ? String(on.length) : "");
    })));
    $("rota-week").querySelector("tbody").replaceChildren(...rows);
    $("rota-summary").textContent = ZD.t("co.rota.summary", { shifts: r.shifts.length, gaps: gapHours });
    $("shift-list").replaceChildren(...(r.shifts.length ? r.shifts.map((s) => {
      const names = s.members.map((m) => m.display_name + (m.left_at ? ` (${ZD.t("co.rota.left", { reason: m.leave_reason || "" })})` : "")).join("、");
      const confirmBox = el("details", { class: "confirm" }, el("summary", {}, ZD.t("co.rota.remove")),
        el("button", { type: "button", class: "danger", "data-remove": s.id }, ZD.t("co.rota.removeConfirm")));
      confirmBox.querySelector("button").addEventListener("click", async () => {
        try { await ZD.api("DELETE", `/shifts/${s.id}`); ZD.toast(ZD.t("co.rota.removed")); await showRota(); }
        catch (e) { ZD.toast(ZD.problemText(e), true); }
      });
      return el("li", { "data-shift": s.id },
        el("div", { class: "row" }, el("strong", {}, `${ZD.time(s.starts_at)} – ${ZD.time(s.ends_at)}`), el("span", { class: "badge kind" }, ZD.t("shift." + s.kind)), s.note || ""),
        el("div", {}, names), new Date(s.ends_at) > new Date() ? confirmBox : "");
    }) : [el("li", { class: "muted" }, ZD.t("co.rota.none"))]));
  }
  ZD.onSubmit($("rota-form"), () => showRota());
  ZD.onSubmit($("shift-form"), async () => {
    const f = $("shift-form");
    const iso = (v) => (v ? new Date(v).toISOString() : "");
    const body = {
      starts_at: iso(f.starts_at.value), ends_at: iso(f.ends_at.value),
      volunteer_ids: [...f.volunteer_ids.selectedOptions].map((o) => o.value),
      kind: f.kind.value, note: f.note.value.trim() || null,
      repeat_weekly_until: f.repeat_weekly_until.value || null,
    };
    const r = await ZD.post(`/teams/${$("rota-team").value}/shifts`, body);
    ZD.toast(ZD.t("co.rota.created", { n: r.shifts.length }));
    await showRota();
  });
  async function showHours() {
    const team = $("rota-team").value;
    const [t, pending] = await Promise.all([ZD.get("/hours/totals"), ZD.get("/hours?review=pending" + (team ? "&team_id=" + team : ""))]);
    $("hours-summary").textContent = ZD.t("co.hours.summary", { h: (t.total_minutes / 60).toFixed(1), p: (t.pending_minutes / 60).toFixed(1), n: t.teams.filter((x) => x.minutes > 0).length });
    $("hours-pending-list").replaceChildren(...(pending.items.length ? pending.items.map((i) => {
      const ok = el("button", { type: "button", "data-confirm": i.id }, ZD.t("co.hours.confirm"));
      ok.addEventListener("click", async () => {
        try { await ZD.post(`/hours/${i.id}/review`, {}); await showHours(); } catch (e) { ZD.toast(ZD.problemText(e), true); }
      });
      const form = el("form", { class: "row", novalidate: true },
        el("label", { for: "fix-m-" + i.id }, ZD.t("co.hours.minutes")), el("input", { id: "fix-m-" + i.id, name: "minutes", type: "number", min: "0", max: "1440", value: String(i.minutes) }),
        el("label", { for: "fix-r-" + i.id }, ZD.t("co.hours.reason")), el("input", { id: "fix-r-" + i.id, name: "reason", maxlength: "500", required: true }),
        el("button", { type: "submit" }, ZD.t("co.hours.correct")), el("p", { class: "error", "data-error-for": "_form", role: "alert" }),
        el("p", { class: "error", "data-error-for": "reason", role: "alert" }), el("p", { class: "error", "data-error-for": "minutes", role: "alert" }));
      ZD.onSubmit(form, async () => {
        await ZD.post(`/hours/${i.id}/review`, { minutes: Number(form.minutes.value), reason: form.reason.value.trim() });
        await showHours();
      });
      return el("li", { "data-hours": i.id }, el("div", { class: "row" }, el("strong", {}, i.display_name || ""),
        el("span", {}, `${ZD.time(i.started_at)} – ${ZD.time(i.ended_at)}`), el("span", {}, ZD.t("vol.minutes", { n: i.minutes })), ok), form);
    }) : [el("li", { class: "muted" }, ZD.t("co.hours.noPending"))]));
  }
  $("hours-export").addEventListener("click", () => download("/hours/export" + ($("rota-team").value ? "?team_id=" + $("rota-team").value : ""), "service-hours.csv"));

  // Tabs shown again refresh what may have changed meanwhile.
  const refreshers = {
    orders: () => loadOrders(),
    escalations: () => loadEscalations(),
    stats: () => Promise.all([loadStats(), loadBoard()]),
  };

  ZD.start();
  ZD.onLang(() => {
    if (liveMap) { counts(); listOrders(); volLayer.refreshClusters(); mapFilters().catch(() => {}); }
    [...loaded].forEach((n) => { if (n !== "map") (loaders[n] || (() => {}))(); });
  });
  ZD.get("/me").then((me) => { $("who").textContent = me.display_name; }).catch(() => {});
  ZD.catalogue().then(() => {
    const want = location.hash.slice(1);
    show(tabs.find((t) => t.id === "tab-" + want) || tabs[0]);
    loadEscalations().catch(() => {});
  });
  ZD.live(onLive, () => { if (liveMap) refreshMap(); loadEscalations(); });
})();
