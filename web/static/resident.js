// The resident's page: post a request, follow it live, cancel, confirm and rate.
(function () {
  "use strict";
  const me = ZD.requireRole(["resident"]);
  if (!me) return;
  const $ = (id) => document.getElementById(id);
  const el = ZD.el;
  const ACTIVE = ["open", "escalated", "assigned", "in_progress", "completed"];
  const cards = new Map(); // order id -> {li, order, map, layer}
  let pickMap, pickMarker;

  // ---------- new request ----------
  function setPick(lat, lon, pan) {
    $("lat").value = lat.toFixed(6);
    $("lon").value = lon.toFixed(6);
    $("picked").textContent = ZD.t("res.picked", { lat: lat.toFixed(5), lon: lon.toFixed(5) });
    if (pickMarker) pickMarker.setLatLng(ZD.toMap(lat, lon));
    else pickMarker = ZD.dot(lat, lon, "#c8102e", 9).addTo(pickMap);
    if (pan) ZD.goTo(pickMap, lat, lon, 16);
  }

  async function fillSelects() {
    const cat = await ZD.catalogue();
    // The category is chosen, never defaulted: the first option asks for it.
    const chosen = $("category").value;
    ZD.options($("category"), [["", ZD.t("res.chooseCategory")], ...cat.categories.map((c) => [c.code, ZD.categoryName(c.code)])]);
    $("category").value = chosen;
    lifeCall();
    ZD.options($("urgency"), cat.urgencies.map((u) => [u, ZD.t("urgency." + u)]));
    if (!$("urgency").dataset.init) { $("urgency").value = "normal"; $("urgency").dataset.init = "1"; }
  }

  // First aid and water rescue: calling 120 / 110 comes first.
  const LIFE = ["first_aid", "water_rescue"];
  function lifeCall() { $("life-call").hidden = !LIFE.includes($("category").value); }
  $("category").addEventListener("change", lifeCall);
  $("new-again").addEventListener("click", () => {
    $("new-order").hidden = false; $("new-again").hidden = true; $("category").focus();
  });

  $("use-mine").addEventListener("click", () => {
    const form = $("new-order");
    if (!navigator.geolocation) { ZD.fieldError(form, "lat", ZD.t("err.geo", { msg: "—" })); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => setPick(p.coords.latitude, p.coords.longitude, true),
      (e) => ZD.fieldError(form, "lat", ZD.t("err.geo", { msg: e.message })),
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });

  ZD.onSubmit($("new-order"), async (f) => {
    const form = $("new-order");
    if (!f.get("lat")) { ZD.fieldError(form, "lat", ZD.t("err.pickLocation")); return; }
    const body = {
      category: f.get("category"),
      lat: Number(f.get("lat")), lon: Number(f.get("lon")),
      address: f.get("address").trim(), description: f.get("description").trim(),
      headcount: f.get("headcount") === "" ? null : Number(f.get("headcount")),
      urgency: f.get("urgency"),
    };
    const contact = f.get("contact_phone").trim();
    if (contact) body.contact_phone = contact;
    const created = await ZD.post("/orders", body);
    ZD.toast(ZD.t("res.submitted"));
    form.reset();
    $("urgency").value = "normal";
    lifeCall();
    // The request being tracked comes first; the form folds away.
    form.hidden = true;
    $("new-again").hidden = false;
    await refresh(created.id);
    const card = cards.get(created.id);
    if (card) { card.li.scrollIntoView({ block: "start" }); card.li.focus(); }
  });

  // ---------- my orders ----------
  function volunteerLine(a, o) {
    const away = a.lat !== null && a.lat !== undefined ? ZD.haversine(a.lat, a.lon, o.lat, o.lon) : a.distance_m;
    return el("li", { class: "volunteer", "data-volunteer": a.volunteer_id },
      el("strong", {}, a.volunteer_name), a.team_name ? " · " + a.team_name : "", a.role ? " · " + ZD.skillName(a.role) : "", " ",
      el("span", { class: "badge", "data-status": a.state === "arrived" ? "in_progress" : "assigned" }, ZD.t("astate." + a.state)),
      el("br"),
      a.state === "accepted" ? el("span", { class: "away" }, ZD.t("res.coming") + " · " + ZD.t("res.away", { d: ZD.distance(away) })
        + (a.expected_by ? " · " + ZD.t("res.eta", { t: new Date(a.expected_by).toLocaleTimeString(ZD.lang() === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit", hour12: false }) }) : "")) : "",
      a.volunteer_phone ? el("span", {}, " · ", el("a", { href: "tel:" + a.volunteer_phone }, a.volunteer_phone)) : "");
  }

  function actions(o) {
    const box = el("div", { class: "actions" });
    if (["open", "escalated", "assigned"].includes(o.status)) {
      const form = el("form", { class: "cancel", novalidate: true },
        el("label", { for: "reason-" + o.id }, ZD.t("res.cancelReason")),
        el("input", { id: "reason-" + o.id, name: "reason", maxlength: "500" }),
        el("p", { class: "error", "data-error-for": "reason", role: "alert" }),
        el("button", { type: "submit" }, ZD.t("res.cancel")),
        el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
      ZD.onSubmit(form, async (f) => {
        const reason = f.get("reason").trim();
        await ZD.post(`/orders/${o.id}/cancel`, reason ? { reason } : {});
        ZD.toast(ZD.t("res.cancelled"));
        await refresh(o.id);
      });
      box.append(el("details", { class: "cancel-box" }, el("summary", {}, ZD.t("res.cancel")), form));
    }
    if (o.status === "completed") {
      const stars = el("fieldset", { class: "stars" }, el("legend", {}, ZD.t("res.rating")),
        [1, 2, 3, 4, 5].map((n) => el("label", {}, el("input", { type: "radio", name: "rating", value: String(n), checked: n === 5 }), el("span", { "aria-hidden": "true" }, n + "★"),
          el("span", { class: "sr-only" }, ZD.t("res.stars", { n })))));
      const form = el("form", { class: "confirm", novalidate: true }, stars,
        el("p", { class: "error", "data-error-for": "rating", role: "alert" }),
        el("label", { for: "fb-" + o.id }, ZD.t("res.feedback")),
        el("textarea", { id: "fb-" + o.id, name: "feedback", maxlength: "1000" }),
        el("p", { class: "error", "data-error-for": "feedback", role: "alert" }),
        el("button", { type: "submit", class: "ok" }, ZD.t("res.confirm")),
        el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
      ZD.onSubmit(form, async (f) => {
        const feedback = f.get("feedback").trim();
        await ZD.post(`/orders/${o.id}/confirm`, feedback ? { rating: Number(f.get("rating")), feedback } : { rating: Number(f.get("rating")) });
        ZD.toast(ZD.t("res.confirmed"));
        await refresh(o.id);
      });
      box.append(form);
    }
    return box;
  }

  function statusNote(o) {
    const coming = (o.assignments || []).filter((a) => ["accepted", "arrived"].includes(a.state)).length;
    // Someone on the way is never "nobody could take it".
    if (["open", "escalated"].includes(o.status) && coming > 0) return ZD.t("res.partly", { n: coming, left: Math.max(0, o.headcount - o.filled) });
    if (o.status === "open") return ZD.t("res.waiting");
    if (o.status === "escalated") return ZD.t("res.escalated");
    if (o.rating) return ZD.t("res.rated", { n: o.rating });
    return "";
  }

  // Where the request is: placed → someone accepted → on scene → done → confirmed.
  const STEPS = ["placed", "assigned", "in_progress", "completed", "confirmed"];
  function stepOf(o) {
    if (["confirmed", "closed"].includes(o.status)) return 4;
    if (o.status === "completed") return 3;
    if (o.status === "in_progress") return 2;
    if (o.status === "assigned" || (o.assignments || []).some((a) => ["accepted", "arrived"].includes(a.state))) return 1;
    return 0;
  }
  function steps(o) {
    const at = stepOf(o);
    return el("ol", { class: "steps", "aria-label": ZD.t("res.stepsLabel") }, STEPS.map((k, i) =>
      el("li", { class: i < at ? "done" : i === at ? "now" : "", "aria-current": i === at ? "step" : null }, ZD.t("res.step." + k))));
  }
  function elapsed(o) {
    const s = Math.max(0, Math.round((Date.now() - new Date(o.created_at).getTime()) / 1000));
    return ZD.t("res.elapsed", { m: Math.floor(s / 60), s: s % 60 });
  }
  setInterval(() => cards.forEach((c) => {
    if (c.clock && ["open", "escalated", "assigned", "in_progress"].includes(c.order.status)) c.clock.textContent = elapsed(c.order);
  }), 1000);

  // A card keeps its parts; the action forms are rebuilt only when the order's
  // shape changes, so nothing typed into them is lost to a live update.
  function render(o) {
    let card = cards.get(o.id);
    if (!card) {
      card = { li: el("li", { "data-order": o.id, tabindex: "-1" }), head: el("div"), team: el("div"), note: el("p", { class: "note", "aria-live": "polite" }),
        track: el("div", { class: "track" }), clock: el("p", { class: "muted elapsed" }), life: el("div"),
        mapBox: el("div", { class: "map", role: "img", "aria-label": ZD.t("res.location") }), actions: el("div"), key: null, map: null, layer: null };
      card.thread = ZD.thread(o.id);
      card.thread.load().catch(() => {});
      card.li.append(card.head, card.life, card.track, card.clock, card.note, card.team, card.mapBox, card.actions, card.thread.node);
      cards.set(o.id, card);
    }
    card.order = o;
    card.head.replaceChildren(
      el("div", { class: "row" }, el("strong", {}, o.code), el("span", { class: "badge status", "data-status": o.status }, ZD.status(o.status))),
      el("div", {}, ZD.categoryName(o.category), " · ", o.address),
      el("div", { class: "muted" }, ZD.time(o.created_at), " · ", ZD.t("urgency." + o.urgency)),
      ZD.rolesLine(o));
    card.note.textContent = statusNote(o);
    const live = ["open", "escalated", "assigned", "in_progress"].includes(o.status);
    card.track.replaceChildren(o.status === "cancelled" ? "" : steps(o));
    card.clock.textContent = live ? elapsed(o) : "";
    card.life.replaceChildren(live && LIFE.includes(o.category)
      ? el("div", { class: "life-call", role: "note" }, el("strong", {}, ZD.t("res.lifeCall")),
        el("a", { href: "tel:120", class: "call" }, "120"), el("a", { href: "tel:110", class: "call" }, "110"))
      : "");
    renderTeam(card);
    const key = [o.status, ZD.lang(), ...(o.assignments || []).map((a) => a.state)].join("|");
    if (key !== card.key) { card.key = key; card.actions.replaceChildren(actions(o)); }
    card.mapBox.hidden = !ACTIVE.includes(o.status);
    if (ACTIVE.includes(o.status)) drawMap(card);
  }

  function renderTeam(card) {
    const o = card.order;
    const team = (o.assignments || []).filter((a) => ["accepted", "arrived", "completed"].includes(a.state));
    card.team.replaceChildren(team.length ? el("ul", { class: "list volunteers" }, team.map((a) => volunteerLine(a, o))) : "");
  }

  function drawMap(card) {
    const o = card.order;
    if (!card.map) {
      card.map = L.map(card.mapBox, { zoomControl: false }).setView(ZD.toMap(o.lat, o.lon), 15);
      ZD.tiles(card.map, card.mapBox);
      card.layer = L.layerGroup().addTo(card.map);
    }
    card.layer.clearLayers();
    ZD.dot(o.lat, o.lon, "#c8102e", 9, o.address).addTo(card.layer);
    const pts = [ZD.toMap(o.lat, o.lon)];
    (o.assignments || []).filter((a) => ["accepted", "arrived"].includes(a.state) && a.lat !== null && a.lat !== undefined)
      .forEach((a) => {
        const m = ZD.dot(a.lat, a.lon, "#2471a3", 7, a.volunteer_name).addTo(card.layer);
        m.options.volunteerId = a.volunteer_id;
        pts.push(ZD.toMap(a.lat, a.lon));
      });
    setTimeout(() => {
      card.map.invalidateSize();
      if (pts.length > 1) card.map.fitBounds(pts, { padding: [30, 30], maxZoom: 16 });
    }, 0);
  }

  async function refresh(id) {
    const o = await ZD.get("/orders/" + id);
    const isNew = !cards.has(id);
    render(o);
    if (isNew) $("orders").prepend(cards.get(id).li);
    empty();
  }

  function empty() {
    const list = $("orders");
    const none = list.querySelector(".none");
    if (cards.size === 0 && !none) list.append(el("li", { class: "none muted" }, ZD.t("res.none")));
    if (cards.size > 0 && none) none.remove();
  }

  async function loadAll() {
    const page = await ZD.get("/orders?per_page=20");
    const list = $("orders");
    for (const o of page.items) {
      const full = ACTIVE.includes(o.status) ? await ZD.get("/orders/" + o.id) : o;
      render(full);
      list.append(cards.get(o.id).li);
    }
    empty();
  }

  function onLive(m) {
    if (!m.order_id) return;
    const card = cards.get(m.order_id);
    if (m.type === "order_message") { if (card) card.thread.add(m); return; }
    if (m.type === "volunteer_position" && card) {
      const a = (card.order.assignments || []).find((x) => x.volunteer_id === m.volunteer_id);
      if (a) { a.lat = m.lat; a.lon = m.lon; renderTeam(card); drawMap(card); }
      return;
    }
    refresh(m.order_id).catch(() => {});
  }

  ZD.start();
  ZD.onLang(() => { fillSelects(); cards.forEach((c) => render(c.order)); });
  ZD.map($("pick-map"), { zoom: 13 }).then((map) => {
    pickMap = map;
    map.on("click", (e) => { const p = ZD.fromMap(e.latlng); setPick(p.lat, p.lon, false); });
  });
  // The cards' maps draw at once: the tile coordinates (ZD.toMap) are known first.
  Promise.all([fillSelects(), ZD.config()]).then(loadAll).catch((e) => ZD.toast(ZD.problemText(e), true));
  ZD.live(onLive, () => cards.forEach((c, id) => { if (ACTIVE.includes(c.order.status)) refresh(id).catch(() => {}); }));
})();
