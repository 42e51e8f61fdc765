// The volunteer's page: duty and position, live offers with a countdown,
// nearby tasks to grab, the current task through arrival and completion, points.
(function () {
  "use strict";
  const user = ZD.requireRole(["volunteer"]);
  if (!user) return;
  const $ = (id) => document.getElementById(id);
  const el = ZD.el;
  const offers = new Map(); // offer id -> {node, offer}
  let onDuty = false, watchId = null, lastSent = null, position = null, nearbyMap = null, nearbyLayer = null, cfg = null;

  // ---------- duty and position ----------
  function showDuty() {
    $("duty").checked = onDuty;
    // The switch says what it is now, not always 在岗.
    $("duty-label").querySelector("span").textContent = ZD.t(onDuty ? "vol.dutyIsOn" : "vol.dutyIsOff");
    $("duty-state").textContent = ZD.t(onDuty ? "vol.onDuty" : "vol.offDuty");
    $("position").textContent = position
      ? ZD.t("vol.position", { lat: position.lat.toFixed(5), lon: position.lon.toFixed(5), t: ZD.time(position.at) })
      : ZD.t("vol.noPosition");
  }

  async function report(lat, lon, force) {
    const now = Date.now();
    const minGap = Math.max(cfg.location_min_interval_ms, 1000);
    if (!force && lastSent) {
      const moved = ZD.haversine(lastSent.lat, lastSent.lon, lat, lon);
      if (now - lastSent.ms < minGap || (moved < 10 && now - lastSent.ms < 30000)) return;
    }
    lastSent = { lat, lon, ms: now };
    try {
      await ZD.action("location", "PUT", "/me/location", { lat, lon }, ZD.t("outbox.position"), { replace: true });
      position = { lat, lon, at: new Date().toISOString() };
      $("duty-error").textContent = "";
      showDuty();
    } catch (e) { $("duty-error").textContent = ZD.problemText(e); if (e.queued) { position = { lat, lon, at: new Date().toISOString() }; showDuty(); } }
  }

  // While on duty the screen stays on where the browser allows it, so an
  // offer is seen; the lock is asked for again when the page is shown again.
  let wakeLock = null;
  async function keepAwake() {
    if (!onDuty || !("wakeLock" in navigator) || document.visibilityState !== "visible") return;
    try { wakeLock = await navigator.wakeLock.request("screen"); } catch (_) { wakeLock = null; }
  }
  document.addEventListener("visibilitychange", () => { if (!wakeLock || wakeLock.released) keepAwake(); });

  function startWatch() {
    if (watchId !== null || !navigator.geolocation) return;
    watchId = navigator.geolocation.watchPosition(
      (p) => report(p.coords.latitude, p.coords.longitude, lastSent === null).then(loadNearby),
      (e) => { $("duty-error").textContent = ZD.t("err.geo", { msg: e.message }); },
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 },
    );
  }
  function stopWatch() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null; lastSent = null;
  }

  $("duty").addEventListener("change", async () => {
    const want = $("duty").checked;
    try {
      try {
        await ZD.action("duty", "PUT", "/me/duty", { on_duty: want }, ZD.t(want ? "outbox.dutyOn" : "outbox.dutyOff"), { replace: true });
      } catch (e) { if (!e.queued) throw e; $("duty-error").textContent = ZD.problemText(e); }
      onDuty = want;
      if (onDuty) { startWatch(); keepAwake(); } else { stopWatch(); if (wakeLock) wakeLock.release().catch(() => {}); wakeLock = null; }
      $("duty-error").textContent = "";
    } catch (e) { $("duty").checked = onDuty; $("duty-error").textContent = ZD.problemText(e); }
    showDuty();
    loadNearby();
  });

  // A reconnect may follow a long time offline: tell dispatch where we
  // are now (a fresh fix, not the last one kept).
  function reportFresh() {
    if (!onDuty || !navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(
      (p) => report(p.coords.latitude, p.coords.longitude, true).then(loadNearby),
      () => {},
      { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 },
    );
  }

  // ---------- Web Push: offers while no page is open ----------
  const pushSupported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  function keyBytes(s) {
    const b = atob((s + "=".repeat((4 - (s.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  }
  async function pushSubscription() {
    if (!pushSupported) return null;
    const reg = await navigator.serviceWorker.ready;
    return reg.pushManager.getSubscription();
  }
  async function tellServer(sub) {
    const j = sub.toJSON();
    await ZD.post("/me/push-subscriptions", { endpoint: j.endpoint, keys: j.keys, lang: ZD.lang() === "en" ? "en" : "zh-CN" });
  }
  async function showPush() {
    const state = $("push-state");
    if (!pushSupported) { $("push-on").hidden = true; $("push-off").hidden = true; state.textContent = ZD.t("push.unsupported"); return; }
    if (Notification.permission === "denied") { $("push-on").hidden = true; $("push-off").hidden = true; state.textContent = ZD.t("push.denied"); return; }
    const sub = await pushSubscription().catch(() => null);
    $("push-on").hidden = !!sub;
    $("push-off").hidden = !sub;
    state.textContent = ZD.t(sub ? "push.on" : "push.off");
  }
  $("push-on").addEventListener("click", async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") { showPush(); return; }
      const reg = await navigator.serviceWorker.ready;
      const key = await ZD.get("/push/vapid-public-key");
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key) });
      await tellServer(sub);
      showPush();
    } catch (e) { $("push-state").textContent = e.status ? ZD.problemText(e) : ZD.t("push.failed", { msg: e.message || String(e) }); }
  });
  async function pushOff() {
    const sub = await pushSubscription().catch(() => null);
    if (!sub) return;
    await ZD.api("DELETE", "/me/push-subscriptions", { endpoint: sub.endpoint }).catch(() => {});
    await sub.unsubscribe().catch(() => {});
  }
  $("push-off").addEventListener("click", async () => { await pushOff(); showPush(); });
  // Signing out of a shared phone stops its offers reaching the next person.
  ZD.logoutHooks.push(pushOff);
  // Already subscribed: say so to the server again (it may be another
  // account's browser since, or the server may have dropped it).
  pushSubscription().then((sub) => sub && tellServer(sub)).catch(() => {}).finally(showPush);

  // ---------- offers ----------
  function alertUser() {
    try { if (navigator.vibrate) navigator.vibrate([200, 100, 200]); } catch (_) { /* not allowed */ }
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (_) { /* no sound before a user gesture */ }
  }

  function addOffer(o) {
    if (offers.has(o.id)) return;
    const secs = el("span", { class: "countdown", "aria-live": "off" });
    const err = el("p", { class: "error", role: "alert" });
    const accept = el("button", { type: "button", class: "ok accept" }, ZD.t("vol.accept"));
    const decline = el("button", { type: "button", class: "decline" }, ZD.t("vol.decline"));
    const node = el("article", { class: "offer", "data-offer": o.id, "data-urgency": o.urgency, "aria-label": ZD.t("vol.offers") },
      el("div", { class: "row" }, el("strong", {}, ZD.categoryName(o.category)), el("span", { class: "badge urgency", "data-urgency": o.urgency }, ZD.t("urgency." + o.urgency)), secs),
      el("div", {}, o.address),
      o.role ? el("div", { class: "role" }, ZD.t("role.yours", { role: ZD.skillName(o.role) })) : "",
      el("div", { class: "muted" }, ZD.t("vol.distance", { d: ZD.distance(o.distance_m) }), " · ", o.code),
      o.description ? el("p", {}, o.description) : "",
      el("div", { class: "row answer" }, accept, decline), err);
    const deadline = o.deadline ? new Date(o.deadline).getTime() : null;
    const tick = () => {
      if (!deadline) return;
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      secs.textContent = ZD.t("vol.countdown", { s: left });
      if (left <= 0) removeOffer(o.id, "vol.expired");
    };
    const timer = setInterval(tick, 1000);
    tick();
    accept.addEventListener("click", async () => {
      accept.disabled = decline.disabled = true;
      try {
        await ZD.action("accept:" + o.id, "POST", `/offers/${o.id}/accept`, {}, ZD.t("outbox.accept", { code: o.code }));
        removeOffer(o.id);
        ZD.toast(ZD.t("vol.accepted"));
        await loadCurrent();
      } catch (e) {
        err.textContent = ZD.problemText(e);
        if (e.queued) return; // sent when the network is back
        accept.disabled = decline.disabled = false;
        if (e.status === 409 || e.status === 404) setTimeout(() => removeOffer(o.id), 2500);
      }
    });
    decline.addEventListener("click", async () => {
      accept.disabled = decline.disabled = true;
      try { await ZD.action("decline:" + o.id, "POST", `/offers/${o.id}/decline`, {}, ZD.t("outbox.decline", { code: o.code })); removeOffer(o.id); }
      catch (e) { err.textContent = ZD.problemText(e); if (!e.queued) accept.disabled = decline.disabled = false; }
    });
    offers.set(o.id, { node, offer: o, timer });
    $("offers").append(node);
    $("no-offers").hidden = true;
    alertUser();
  }

  function removeOffer(id, why) {
    const o = offers.get(id);
    if (!o) return;
    clearInterval(o.timer);
    o.node.remove();
    offers.delete(id);
    if (why) ZD.toast(ZD.t(why));
    $("no-offers").hidden = offers.size > 0;
  }

  async function loadOffers() {
    const list = await ZD.get("/me/offers");
    const live = new Set(list.map((x) => x.id));
    [...offers.keys()].forEach((id) => { if (!live.has(id)) removeOffer(id); });
    list.forEach((x) => addOffer(Object.assign({}, x.order, { id: x.id, deadline: x.deadline, distance_m: x.distance_m, role: x.role })));
  }

  // ---------- current task ----------
  function navLinks(o) {
    const name = encodeURIComponent(o.address);
    return el("div", { class: "row" },
      el("a", { class: "button", href: `geo:${o.lat},${o.lon}?q=${o.lat},${o.lon}(${name})` }, ZD.t("vol.navigate")),
      el("a", { class: "button", href: `https://uri.amap.com/marker?position=${o.lon},${o.lat}&name=${name}`, target: "_blank", rel: "noopener" }, "高德 / Amap"),
      o.contact_phone ? el("a", { class: "button", href: "tel:" + o.contact_phone }, ZD.t("vol.call")) : "");
  }

  // Each task's liaison thread, kept across re-renders.
  const threads = new Map();
  function threadOf(id) {
    if (!threads.has(id)) {
      const t = ZD.thread(id);
      threads.set(id, t);
      t.load().catch(() => {});
    }
    return threads.get(id);
  }

  function taskCard(o, mine) {
    const box = el("article", { class: "task", "data-order": o.id },
      el("div", { class: "row" }, el("strong", {}, o.code), el("span", { class: "badge status", "data-status": o.status }, ZD.status(o.status))),
      el("div", {}, ZD.categoryName(o.category), " · ", o.address),
      mine.role ? el("div", { class: "role" }, ZD.t("role.yours", { role: ZD.skillName(mine.role) })) : "",
      ZD.rolesLine(o),
      el("p", {}, o.description),
      o.contact_phone ? el("div", {}, ZD.t("vol.call"), ": ", el("a", { href: "tel:" + o.contact_phone }, o.contact_phone)) : "",
      position ? el("div", { class: "muted" }, ZD.t("vol.distance", { d: ZD.distance(ZD.haversine(position.lat, position.lon, o.lat, o.lon)) })) : "",
      navLinks(o));
    if (mine.state === "accepted") {
      const err = el("p", { class: "error", role: "alert" });
      const btn = el("button", { type: "button", class: "primary arrive" }, ZD.t("vol.arrive"));
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          const here = position || (await new Promise((ok, no) => navigator.geolocation.getCurrentPosition((p) => ok({ lat: p.coords.latitude, lon: p.coords.longitude }), no)));
          await ZD.action("arrive:" + o.id, "POST", `/orders/${o.id}/arrive`, { lat: here.lat, lon: here.lon }, ZD.t("outbox.arrive", { code: o.code }));
          ZD.toast(ZD.t("vol.arrived"));
          await loadCurrent();
        } catch (e) { err.textContent = e.problem ? ZD.problemText(e) : ZD.t("err.geo", { msg: e.message }); btn.disabled = !!e.queued; }
      });
      box.append(btn, err);
    } else if (mine.state === "arrived") {
      const form = el("form", { class: "complete", novalidate: true },
        el("label", { for: "note-" + o.id }, ZD.t("vol.note")),
        el("textarea", { id: "note-" + o.id, name: "note", maxlength: "2000", oninput: (ev) => drafts.set(o.id, ev.target.value) }, drafts.get(o.id) || ""),
        el("p", { class: "error", "data-error-for": "note", role: "alert" }),
        el("button", { type: "submit", class: "ok" }, ZD.t("vol.complete")),
        el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
      ZD.onSubmit(form, async (f) => {
        const note = f.get("note").trim();
        await ZD.action("complete:" + o.id, "POST", `/orders/${o.id}/complete`, note ? { note } : {}, ZD.t("outbox.complete", { code: o.code }));
        drafts.delete(o.id);
        ZD.toast(ZD.t("vol.completed"));
        await loadCurrent();
      });
      box.append(form);
    } else {
      box.append(el("p", { class: "muted" }, ZD.t("vol.completed")));
    }
    if (["accepted", "arrived"].includes(mine.state)) box.append(withdrawForm(o));
    box.append(threadOf(o.id).node);
    return box;
  }

  // Withdrawing asks for the reason, which the resident and coordinators see.
  function withdrawForm(o) {
    const form = el("form", { class: "withdraw", novalidate: true },
      el("label", { for: "why-" + o.id }, ZD.t("vol.withdrawReason")),
      el("textarea", { id: "why-" + o.id, name: "reason", maxlength: "500", rows: "2" }),
      el("p", { class: "error", "data-error-for": "reason", role: "alert" }),
      el("button", { type: "submit" }, ZD.t("vol.withdrawSubmit")),
      el("p", { class: "error", "data-error-for": "_form", role: "alert" }));
    ZD.onSubmit(form, async (f) => {
      const reason = String(f.get("reason")).trim();
      if (!reason) { ZD.fieldError(form, "reason", ZD.t("err.required")); return; }
      await ZD.action("withdraw:" + o.id, "POST", `/orders/${o.id}/withdraw`, { reason }, ZD.t("vol.withdraw"));
      ZD.toast(ZD.t("vol.withdrew"));
      await loadCurrent();
    });
    return el("details", { class: "withdraw-box" }, el("summary", {}, ZD.t("vol.withdraw")), form);
  }

  // A task's card is rebuilt only when its shape changes (status, my part,
  // language), so a note being typed keeps its text and focus through live
  // updates and reconnects; the draft is kept besides, for a rebuild.
  const drafts = new Map(); // order id -> note text
  const built = new Map(); // order id -> {shape, node}
  async function loadCurrent() {
    const page = await ZD.get("/orders?per_page=10");
    const out = [];
    for (const o of page.items.filter((x) => ["assigned", "in_progress", "completed"].includes(x.status))) {
      const full = await ZD.get("/orders/" + o.id);
      const mine = (full.assignments || []).find((a) => a.volunteer_id === user.id && ["accepted", "arrived", "completed"].includes(a.state));
      if (!mine || (mine.state === "completed" && full.status !== "completed")) continue;
      const shape = [full.status, mine.state, ZD.lang(), JSON.stringify(full.roles)].join("|");
      const was = built.get(full.id);
      // Done and waiting for the resident: one quiet line, no navigation.
      const done = mine.state === "completed";
      const node = was && was.shape === shape ? was.node : done
        ? el("div", { class: "done-task muted", "data-order": full.id }, el("strong", {}, full.code), " · ", full.address, " · ", ZD.t("vol.awaitingConfirm"))
        : taskCard(full, mine);
      built.set(full.id, { shape, node });
      out.push(node);
    }
    // Tasks under way first, then those waiting for the resident.
    out.sort((a, b) => Number(a.classList.contains("done-task")) - Number(b.classList.contains("done-task")));
    const active = out.filter((n) => !n.classList.contains("done-task"));
    const now = out.length ? (active.length ? out : [el("p", { class: "muted" }, ZD.t("vol.noCurrent")), ...out]) : [el("p", { class: "muted" }, ZD.t("vol.noCurrent"))];
    const same = now.length === $("current").children.length && now.every((n, i) => $("current").children[i] === n);
    if (!same) $("current").replaceChildren(...now);
  }

  // ---------- the outbox ----------
  async function showOutbox() {
    const items = await ZD.pending().catch(() => []);
    $("outbox").hidden = items.length === 0;
    $("outbox-list").replaceChildren(...items.map((a) => el("li", { "data-pending": a.name }, a.label, " · ", el("span", { class: "muted" }, ZD.time(new Date(a.at).toISOString())))));
  }
  document.addEventListener("zd:outbox", () => showOutbox());
  document.addEventListener("zd:sent", (ev) => {
    ZD.toast(ZD.t("outbox.sent", { what: ev.detail.label }));
    loadOffers().catch(() => {}); loadCurrent().catch(() => {});
  });
  document.addEventListener("zd:refused", (ev) => {
    const { action, reason } = ev.detail;
    $("refused").hidden = false;
    $("refused-list").prepend(el("li", { "data-refused": action.name }, el("strong", {}, action.label), ": ", reason));
    loadOffers().catch(() => {}); loadCurrent().catch(() => {});
  });

  // ---------- nearby ----------
  async function loadNearby() {
    const list = $("nearby");
    if (!onDuty || !position) {
      list.replaceChildren(el("li", { class: "muted" }, ZD.t("vol.needDuty")));
      if (nearbyLayer) nearbyLayer.clearLayers();
      return;
    }
    let tasks;
    try { tasks = await ZD.get("/tasks/nearby?radius_m=" + $("radius").value); }
    catch (e) { list.replaceChildren(el("li", { class: "error" }, ZD.problemText(e))); return; }
    if (nearbyMap) {
      nearbyLayer.clearLayers();
      ZD.dot(position.lat, position.lon, "#2471a3", 8).addTo(nearbyLayer);
      tasks.forEach((o) => ZD.dot(o.lat, o.lon, ZD.statusColor(o.status), 8, `${ZD.categoryName(o.category)} · ${o.address}`).addTo(nearbyLayer));
      const pts = [ZD.toMap(position.lat, position.lon), ...tasks.map((o) => ZD.toMap(o.lat, o.lon))];
      if (pts.length > 1) nearbyMap.fitBounds(pts, { padding: [25, 25], maxZoom: 16 }); else nearbyMap.setView(pts[0], 15);
    }
    if (!tasks.length) { list.replaceChildren(el("li", { class: "muted" }, ZD.t("vol.noNearby"))); return; }
    list.replaceChildren(...tasks.map((o) => {
      const err = el("p", { class: "error", role: "alert" });
      const grab = el("button", { type: "button", class: "primary grab" }, ZD.t("vol.grab"));
      grab.addEventListener("click", async () => {
        grab.disabled = true;
        try { await ZD.action("grab:" + o.id, "POST", `/orders/${o.id}/grab`, {}); ZD.toast(ZD.t("vol.grabbed")); await Promise.all([loadCurrent(), loadNearby()]); }
        catch (e) { err.textContent = ZD.problemText(e); grab.disabled = false; }
      });
      return el("li", { "data-order": o.id },
        el("div", { class: "row" }, el("strong", {}, ZD.categoryName(o.category)), el("span", {}, ZD.distance(o.distance_m)), grab),
        el("div", {}, o.address), el("div", { class: "muted" }, o.description), err);
    }));
  }

  // ---------- points ----------
  async function loadPoints() {
    const p = await ZD.get("/me/points");
    $("balance").textContent = String(p.balance);
    $("rank").textContent = p.rank ? "#" + p.rank : ZD.t("none");
    $("history").replaceChildren(...(p.history.length ? p.history.slice(0, 20).map((h) =>
      el("li", { class: "row" }, el("span", {}, ZD.t("pkind." + h.kind) + (h.reason ? " · " + h.reason : "")),
        el("strong", {}, (h.amount > 0 ? "+" : "") + h.amount), el("span", { class: "muted" }, ZD.time(h.created_at))))
      : [el("li", { class: "muted" }, ZD.t("vol.noHistory"))]));
    const r = await ZD.get("/me/reliability");
    $("reliability").textContent = ZD.t("vol.reliabilityLine", r);
  }

  // ---------- rota and service hours ----------
  function span(a, b) {
    const s = new Date(a), e = new Date(b);
    return `${ZD.time(a)} – ${e.toDateString() === s.toDateString() ? e.toLocaleTimeString(ZD.lang(), { hour: "2-digit", minute: "2-digit" }) : ZD.time(b)}`;
  }
  async function loadShifts() {
    const r = await ZD.get("/me/shifts");
    const mine = (s) => s.members.find((m) => m.volunteer_id === user.id) || {};
    $("my-shifts").replaceChildren(...(r.shifts.length ? r.shifts.map((s) => {
      const me = mine(s);
      const item = el("li", { "data-shift": s.id },
        el("div", { class: "row" }, el("strong", {}, span(s.starts_at, s.ends_at)), el("span", { class: "badge kind" }, ZD.t("shift." + s.kind)),
          me.on_shift ? el("span", { class: "badge", "data-status": "in_progress" }, ZD.t("vol.onShift")) : ""),
        s.note ? el("div", { class: "muted" }, s.note) : "");
      if (me.left_at) item.append(el("div", { class: "muted" }, ZD.t("vol.shiftLeft", { reason: me.leave_reason || "" })));
      else if (new Date(s.ends_at) > new Date()) item.append(leaveForm(s));
      return item;
    }) : [el("li", { class: "muted" }, ZD.t("vol.noShifts"))]));
  }
  function leaveForm(s) {
    const form = el("form", { class: "leave", novalidate: true },
      el("label", { for: "leave-" + s.id }, ZD.t("vol.leaveReason")),
      el("textarea", { id: "leave-" + s.id, name: "reason", rows: "2", required: true, maxlength: "500" }),
      el("p", { class: "error", "data-error-for": "reason", role: "alert" }),
      el("p", { class: "error", "data-error-for": "_form", role: "alert" }),
      el("button", { type: "submit" }, ZD.t("vol.leaveSubmit")));
    ZD.onSubmit(form, async () => {
      const reason = form.reason.value.trim();
      await ZD.post(`/shifts/${s.id}/leave`, { reason });
      ZD.toast(ZD.t("vol.leftShift"));
      await loadShifts();
    });
    return el("details", { class: "leave-box" }, el("summary", {}, ZD.t("vol.leave")), form);
  }
  const STARS = [100, 300, 600, 1000, 1500];
  async function loadHours() {
    const h = await ZD.get("/me/hours");
    const hours = (m) => (m / 60).toFixed(1);
    $("star").textContent = h.star_level ? "★".repeat(h.star_level) + " " + ZD.t("vol.star", { n: h.star_level }) : ZD.t("vol.noStar");
    $("hours-total").textContent = ZD.t("vol.hoursTotal", { h: hours(h.lifetime_minutes), y: hours(h.total_minutes) });
    const prev = h.star_level ? STARS[h.star_level - 1] : 0;
    const bar = $("star-progress");
    if (h.next_star_hours) {
      bar.hidden = false;
      bar.max = (h.next_star_hours - prev) * 60;
      bar.value = Math.max(0, h.lifetime_minutes - prev * 60);
      $("star-next").textContent = ZD.t("vol.starNext", { n: h.star_level + 1, h: hours(h.next_star_hours * 60 - h.lifetime_minutes) });
    } else {
      bar.hidden = true;
      $("star-next").textContent = ZD.t("vol.starTop");
    }
    $("hours-pending").textContent = h.pending_minutes ? ZD.t("vol.hoursPending", { h: hours(h.pending_minutes) }) : "";
    $("hours-items").replaceChildren(...h.items.slice(-10).reverse().map((i) => el("li", { class: "row", "data-hours": i.id },
      el("span", {}, i.source === "order" ? ZD.t("vol.hoursOrder", { code: i.order_code || "" }) : ZD.t("vol.hoursShift")),
      el("strong", {}, ZD.t("vol.minutes", { n: i.minutes })),
      el("span", { class: "muted" }, ZD.time(i.started_at) + (i.status === "pending" ? " · " + ZD.t("vol.pending") : i.status === "corrected" ? " · " + ZD.t("vol.corrected", { reason: i.reason || "" }) : "")))));
  }
  $("hours-certificate").addEventListener("click", async (e) => {
    e.preventDefault();
    try {
      const res = await ZD.api("GET", `/volunteers/${user.id}/hours/certificate`, null, { raw: true });
      const blob = await res.blob();
      const a = el("a", { href: URL.createObjectURL(blob), download: "volunteer-certificate.pdf" });
      document.body.append(a); a.click(); a.remove();
    } catch (err) { ZD.toast(ZD.problemText(err), true); }
  });

  // ---------- team notices ----------
  function broadcastItem(b) {
    return el("li", { "data-broadcast": b.id || b.broadcast_id },
      el("strong", {}, b.author_name), " · ", el("span", { class: "muted" }, ZD.time(b.created_at)), el("p", {}, b.text));
  }
  async function loadBroadcasts() {
    const page = await ZD.get("/me/broadcasts?per_page=5");
    $("broadcasts").replaceChildren(...(page.items.length ? page.items.map(broadcastItem) : [el("li", { class: "muted" }, ZD.t("vol.noBroadcasts"))]));
  }

  function onLive(m) {
    if (m.type === "order_message") {
      const t = threads.get(m.order_id);
      if (t) t.add(m);
      if (m.author_name !== user.display_name) ZD.toast(`${m.author_name}: ${m.text}`);
      return;
    }
    if (m.type === "broadcast") {
      ZD.toast(ZD.t("vol.broadcast", { text: m.text }));
      const list = $("broadcasts");
      list.querySelector(".muted")?.remove();
      list.prepend(broadcastItem(m));
      return;
    }
    if (m.type === "offer") { addOffer(Object.assign({}, m, { id: m.offer_id })); return; }
    if (m.type === "offer_withdrawn") { removeOffer(m.offer_id, "vol.withdrawn"); return; }
    if (m.type === "offer_expired") { removeOffer(m.offer_id, "vol.expired"); return; }
    if (m.type === "hello" || m.type === "pong") return;
    if (m.type === "certificate_expiring") { ZD.toast(ZD.t("vol.certExpiring", { skill: ZD.skillName(m.skill), n: m.days_left, until: m.certified_until }), true); return; }
    if (m.type === "volunteer_overdue") ZD.toast(ZD.t("vol.overdue", { code: m.code }), true);
    if (m.type === "volunteer_duty") {
      onDuty = m.on_duty; showDuty();
      if (m.source === "shift") ZD.toast(ZD.t(m.on_duty ? "vol.shiftOn" : "vol.shiftOff"));
      loadShifts().catch(() => {}); loadHours().catch(() => {});
      return;
    }
    if (m.type === "points_adjusted") {
      $("balance").textContent = String(m.balance);
      ZD.toast(ZD.t(m.amount >= 0 ? "vol.adjustedUp" : "vol.adjustedDown", { n: Math.abs(m.amount), reason: m.reason || "", balance: m.balance }));
      loadPoints().catch(() => {});
      return;
    }
    if (m.type === "points_awarded") { ZD.toast(ZD.t("vol.earned", { n: m.amount, code: m.code })); loadPoints().catch(() => {}); return; }
    loadCurrent().catch(() => {});
    loadPoints().catch(() => {});
  }

  async function init() {
    cfg = await ZD.config();
    await ZD.catalogue();
    const me = await ZD.get("/me");
    $("who").textContent = me.display_name + (me.volunteer ? " · " + me.volunteer.team_name : "");
    if (me.volunteer) {
      onDuty = me.volunteer.on_duty;
      if (me.volunteer.lat !== null && me.volunteer.lat !== undefined) position = { lat: me.volunteer.lat, lon: me.volunteer.lon, at: me.volunteer.location_at };
    }
    showDuty();
    if (onDuty) { startWatch(); keepAwake(); }
    nearbyMap = await ZD.map($("nearby-map"), { zoom: 14 });
    nearbyLayer = L.layerGroup().addTo(nearbyMap);
    await Promise.all([loadOffers(), loadCurrent(), loadNearby(), loadPoints(), loadBroadcasts(), showOutbox(), loadShifts(), loadHours()]);
  }

  ZD.start();
  ZD.onLang(() => { showDuty(); loadCurrent(); loadNearby(); loadPoints(); loadShifts(); loadHours(); });
  $("refresh-nearby").addEventListener("click", loadNearby);
  $("radius").addEventListener("change", loadNearby);
  // A tapped notification brings this page forward: show what it named.
  navigator.serviceWorker?.addEventListener("message", (e) => {
    if (e.data && e.data.type === "open") { loadOffers(); loadCurrent(); }
  });
  ZD.live(onLive, () => { reportFresh(); loadOffers(); loadCurrent(); loadPoints(); loadBroadcasts().catch(() => {}); threads.forEach((t) => t.load().catch(() => {})); });
  init().catch((e) => { console.error(e); ZD.toast(ZD.problemText(e), true); });
})();
