// The desk's live-map tools in a real browser with no tiles (issue 17 item 5):
// volunteers in clusters until zoomed in, the active orders listed beside the
// map (keyboard too, following live changes), filters by skill, team and
// duty, coordinates typed or pasted on the slip, and GCJ-02 tiles: every
// point drawn shifted to GCJ-02, every point picked shifted back to WGS-84.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors, PHONE, unlabeled } from "./harness.mjs";

let server, browser, admin;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  admin = await tokenFor(server.base, "13800000000");
  // A few active orders for the list (the demo starts with none).
  const resident = await tokenFor(server.base, "13700000002");
  for (const [i, [lat, lon, category]] of [[27.575, 120.552, "general"], [27.561, 120.571, "patrol"], [27.583, 120.566, "general"]].entries()) {
    await api(server.base, "POST", "/orders", resident, { category, lat, lon, address: `地图列表测试 ${i + 1} 号`, description: "地图旁列表的测试订单，需要志愿者到场" });
  }
});
after(async () => { await browser?.close(); server?.stop(); });

// The page's Leaflet maps, for checking where things are drawn: every map
// made is kept in window.__maps (Leaflet's own init hook, set as it loads).
const KEEP_MAPS = () => {
  window.__map = (id) => (window.__maps || []).find((m) => m.getContainer().id === id);
  let real;
  Object.defineProperty(window, "L", {
    configurable: true,
    get: () => real,
    set: (v) => {
      real = v;
      if (v && v.Map && !v.__kept) { v.__kept = true; v.Map.addInitHook(function () { (window.__maps = window.__maps || []).push(this); }); }
    },
  });
};

const gcjBox = {};
vm.createContext(gcjBox);
vm.runInContext(readFileSync(new URL("../static/gcj02.js", import.meta.url), "utf8"), gcjBox);
const toGcj = (lat, lon) => [...gcjBox.ZD_GCJ.toGcj(lat, lon)];
const toWgs = (lat, lon) => [...gcjBox.ZD_GCJ.toWgs(lat, lon)];
const metres = ([lat1, lon1], [lat2, lon2]) => {
  const r = (d) => (d * Math.PI) / 180;
  const a = Math.sin(r(lat2 - lat1) / 2) ** 2 + Math.cos(r(lat1)) * Math.cos(r(lat2)) * Math.sin(r(lon2 - lon1) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
};

async function desk(viewport, configPatch) {
  const errors = [];
  const context = await browser.newContext({ viewport, permissions: ["clipboard-read", "clipboard-write"] });
  const outside = await offlineOnly(context, server.base);
  if (configPatch) {
    await context.route(server.base + "/app-config.json", async (route) => {
      const res = await route.fetch();
      route.fulfill({ response: res, json: Object.assign(await res.json(), configPatch) });
    });
  }
  await context.addInitScript(KEEP_MAPS);
  const page = watchErrors(await context.newPage(), errors);
  // The volunteers asked for (and how many answers came), the tiles asked for.
  const asked = [], tiles = [];
  asked.done = 0;
  page.on("request", (r) => {
    if (r.url().includes("/api/v1/volunteers?")) asked.push(new URL(r.url()));
    if (/\/no-(tiles|overlay)\//.test(r.url())) tiles.push(new URL(r.url()).pathname);
  });
  page.on("requestfinished", (r) => { if (r.url().includes("/api/v1/volunteers?")) asked.done += 1; });
  await logIn(page, server.base, "13800000000");
  await page.waitForFunction(() => Number((document.getElementById("counts").textContent.match(/(\d+)\D*$/) || [0, 0])[1]) > 0
    && document.querySelector("#map-orders li") && window.__map("live-map"));
  // Every page of the first load answered.
  for (let i = 0; i < 100 && asked.done < asked.length; i++) await sleep(100);
  await sleep(500);
  return { context, page, errors, outside, asked, tiles };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Runs `act`, then waits for the volunteers it asks for to be answered and drawn.
async function reloads(asked, act) {
  const before = asked.done;
  await act();
  for (let i = 0; i < 100 && asked.done <= before; i++) await sleep(100);
  assert.ok(asked.done > before, "the volunteers were asked for again");
  await sleep(800);
}
// Where a map (by its element's id) is centred, once it has stopped moving there.
async function centredAt(page, id, want, within) {
  let got = null;
  for (let i = 0; i < 30; i++) {
    got = await page.evaluate((mid) => { const m = window.__map(mid); return [m.getCenter().lat, m.getCenter().lng, m.getZoom()]; }, id);
    if (metres(got, want) < within) return got;
    await sleep(100);
  }
  assert.fail(`${id} is centred at ${got}, ${metres(got, want).toFixed(1)} m from ${want}`);
}
const shown = (page) => page.evaluate(() => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]));
const activeOrders = async () => (await Promise.all(["open", "escalated", "assigned", "in_progress"]
  .map((s) => api(server.base, "GET", `/orders?status=${s}&per_page=500`, admin)))).flatMap((r) => r.items);

test("clusters at the city's zoom, single volunteers zoomed in; the order list beside the map", async () => {
  const { context, page, errors, outside, asked } = await desk({ width: 1440, height: 900 });
  const total = await shown(page);
  assert.ok(total > 200, `${total} on-duty volunteers in view`);

  // Clusters, not a thousand dots: far fewer single volunteer dots than volunteers.
  await page.waitForSelector("#live-map .marker-cluster");
  const clusters = await page.locator("#live-map .marker-cluster").count();
  const singles = await page.locator('#live-map path[fill="#1e8449"]').count();
  assert.ok(clusters >= 3, `${clusters} clusters`);
  assert.ok(singles < total / 5, `${singles} single dots for ${total} volunteers`);
  // A cluster's number is how many volunteers it holds; together they and the dots are all of them.
  const inClusters = await page.$$eval("#live-map .marker-cluster", (els) => els.map((e) => Number(e.querySelector("span").textContent)));
  assert.ok(inClusters.every((n) => n >= 2));
  // Each cluster is a button with a name that says what the number means.
  const name = await page.locator("#live-map .marker-cluster").first().evaluate((e) => [e.getAttribute("role"), e.tabIndex, e.textContent]);
  assert.equal(name[0], "button");
  assert.equal(name[1], 0);
  assert.match(name[2], /^\d+\s*名志愿者/);
  assert.match(await page.textContent(".legend"), /聚合：该处志愿者人数/);
  await page.screenshot({ path: SHOTS + "coordinator-map-clusters.png", fullPage: true });

  // Orders are drawn over the clusters: what is under each order's dot is the dot.
  const onTop = await page.$$eval("#live-map .leaflet-orders-pane path.leaflet-interactive", (ps) => ps.map((p) => {
    const r = p.getBoundingClientRect();
    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p;
  }));
  assert.ok(onTop.length >= 3 && onTop.every(Boolean), JSON.stringify(onTop));

  // A click on a cluster zooms in to it (through the orders' layer)…
  const zoomOf = () => page.evaluate(() => window.__map("live-map").getZoom());
  const z0 = await zoomOf();
  await reloads(asked, async () => {
    const box = await page.evaluate(() => {
      const c = [...document.querySelectorAll("#live-map .marker-cluster")].sort((a, b) => Number(b.querySelector("span").textContent) - Number(a.querySelector("span").textContent))[0];
      const r = c.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    });
    await page.mouse.click(box.x, box.y);
  });
  assert.ok((await zoomOf()) > z0, "a click on a cluster zooms in");
  // …and so does Enter on one (keyboard), on until no clusters are left.
  for (let i = 0; i < 8 && (await page.locator("#live-map .marker-cluster").count()) > 0 && (await zoomOf()) < 16; i++) {
    await reloads(asked, async () => {
      // The biggest cluster gets the focus (as Tab would give it), Enter zooms.
      await page.evaluate(() => [...document.querySelectorAll("#live-map .marker-cluster")]
        .sort((a, b) => Number(b.querySelector("span").textContent) - Number(a.querySelector("span").textContent))[0].focus());
      await page.keyboard.press("Enter");
    });
  }
  const z1 = await zoomOf();
  assert.ok(z1 > z0, `zoomed from ${z0} to ${z1}`);
  // What is left in clusters splits at zoom 16: press + up to there.
  for (let z = z1; z < 16; z++) await reloads(asked, () => page.click(".leaflet-control-zoom-in"));
  assert.equal(await page.locator("#live-map .marker-cluster").count(), 0, "zoomed in, no clusters");
  const dots = await page.locator('#live-map path[fill="#1e8449"]').count();
  assert.ok(dots > 0, "single volunteer dots zoomed in");
  // The counts line still says what the API has in the view's box.
  const box = asked.at(-1).searchParams.get("bbox");
  const inBox = await api(server.base, "GET", `/volunteers?on_duty=true&per_page=1&bbox=${box}`, admin);
  await page.waitForFunction((n) => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]) === n, inBox.total);
  await page.screenshot({ path: SHOTS + "coordinator-map-zoomed.png" });

  // The list: one button per active order, code, status and category in the page's language.
  const orders = await activeOrders();
  const cat = await api(server.base, "GET", "/catalogue", admin);
  const catName = (code, lang) => { const c = cat.categories.find((x) => x.code === code); return lang === "zh" ? c.name_zh : c.name_en; };
  await page.waitForFunction((n) => document.querySelectorAll("#map-orders button[data-order]").length === n, orders.length);
  assert.ok(orders.length > 0, "the demo has active orders");
  const one = orders[0];
  const item = page.locator(`#map-orders button[data-order="${one.id}"]`);
  const text = await item.textContent();
  assert.ok(text.includes(one.code) && text.includes(catName(one.category, "zh")), text);
  assert.match(text, /派单中|无人接单|已接单|处理中/);
  assert.ok(await page.evaluate(() => !document.getElementById("live-map").contains(document.getElementById("map-orders"))), "the list is outside the map's application role");

  // Keyboard: Tab reaches the list's buttons; Enter goes to the order on the map and opens it.
  await item.focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector("#order-dialog[open]");
  assert.equal(await page.getAttribute("#dlg-body", "data-order"), one.id);
  const center = await centredAt(page, "live-map", [one.lat, one.lon], 5);
  assert.ok(center[2] >= 16);
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => !document.getElementById("order-dialog").open);

  // Live: a new order joins the list, and leaves it when cancelled.
  const resident = await tokenFor(server.base, "13700000001");
  const fresh = await api(server.base, "POST", "/orders", resident, {
    category: "general", lat: 27.571, lon: 120.561, address: "测试小区 3 栋", description: "老人需要帮忙搬运物品",
  });
  await page.waitForSelector(`#map-orders button[data-order="${fresh.id}"]`, { timeout: 15_000 });
  assert.match(await page.textContent(`#map-orders button[data-order="${fresh.id}"]`), new RegExp(fresh.code));
  await api(server.base, "POST", `/orders/${fresh.id}/cancel`, admin, { reason: "测试取消" });
  await page.waitForSelector(`#map-orders button[data-order="${fresh.id}"]`, { state: "detached", timeout: 15_000 });

  // English: the list and the clusters follow the language.
  await page.click("#lang");
  await page.waitForFunction((c) => document.querySelector("#map-orders").textContent.includes(c), catName(one.category, "en"));
  assert.match(await page.textContent("#map-orders-title"), /Active orders/);
  assert.match(await page.textContent(".legend"), /Cluster/);
  assert.deepEqual(await unlabeled(page), []);

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});

test("filters above the map: skill, team, and duty reload the volunteers; the counts follow", async () => {
  const { context, page, errors, outside, asked } = await desk({ width: 1440, height: 900 });
  const cat = await api(server.base, "GET", "/catalogue", admin);
  // The skill and team choices come from the catalogue and the roster.
  const skills = await page.$$eval("#mf-skill option", (os) => os.map((o) => o.value));
  assert.deepEqual(skills, ["", ...cat.skills.map((s) => s.code)]);
  const teams = (await api(server.base, "GET", "/teams?per_page=500", admin)).items;
  assert.equal(await page.locator("#mf-team option").count(), teams.length + 1);
  const all = await shown(page);

  const check = async (params, label) => {
    const q = asked.at(-1).searchParams;
    for (const [k, v] of Object.entries(params)) assert.equal(q.get(k), v, `${label}: ${k}`);
    const want = new URLSearchParams({ per_page: "1", bbox: q.get("bbox") });
    for (const [k, v] of Object.entries(params)) if (v !== null) want.set(k, v);
    const total = (await api(server.base, "GET", "/volunteers?" + want, admin)).total;
    await page.waitForFunction((n) => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]) === n, total);
    return total;
  };

  // A skill: only its holders (on duty) are asked for and counted.
  await reloads(asked, () => page.selectOption("#mf-skill", "first_aid"));
  const firstAid = await check({ skill: "first_aid", on_duty: "true", team_id: null }, "skill");
  assert.ok(firstAid > 0 && firstAid < all, `${firstAid} first-aiders of ${all}`);
  assert.ok((await page.textContent("#counts")).includes(cat.skills.find((k) => k.code === "first_aid").name_zh));

  // A team as well.
  const team = teams.filter((t) => t.on_duty_count > 0).sort((a, b) => b.on_duty_count - a.on_duty_count)[0];
  await reloads(asked, () => page.selectOption("#mf-skill", ""));
  await reloads(asked, () => page.selectOption("#mf-team", team.id));
  const ofTeam = await check({ team_id: team.id, on_duty: "true", skill: null }, "team");
  assert.ok(ofTeam > 0 && ofTeam <= team.on_duty_count, `${ofTeam} of ${team.name}`);
  assert.ok((await page.textContent("#counts")).includes(team.name));

  // Everyone with a position, on duty or not: no on_duty in the request, more counted.
  await reloads(asked, () => page.selectOption("#mf-team", ""));
  await reloads(asked, () => page.selectOption("#mf-duty", "all"));
  const everyone = await check({ on_duty: null, skill: null, team_id: null }, "duty");
  assert.ok(everyone >= all, `${everyone} with a position, ${all} on duty`);
  assert.match(await page.textContent("#counts"), /全部（有位置的）/);

  // Back to on duty: the first count again.
  await reloads(asked, () => page.selectOption("#mf-duty", "on"));
  assert.equal(await shown(page), await check({ on_duty: "true" }, "back"));
  assert.match(await page.textContent("#counts"), /视野内在岗志愿者/);

  // Labels in both languages.
  assert.deepEqual(await page.$$eval("#map-filters label", (ls) => ls.map((l) => l.textContent)), ["技能", "队伍", "志愿者"]);
  await page.click("#lang");
  assert.deepEqual(await page.$$eval("#map-filters label", (ls) => ls.map((l) => l.textContent)), ["Skill", "Team", "Volunteers"]);
  assert.equal(await page.textContent('#mf-duty option[value="all"]'), "All (with a position)");
  assert.equal(await page.textContent('#mf-skill option[value="first_aid"]'), cat.skills.find((s) => s.code === "first_aid").name_en);
  assert.match(await page.textContent("#counts"), /volunteers on duty in view/);
  await page.waitForFunction(() => /volunteers here/.test(document.querySelector("#live-map .marker-cluster")?.textContent || ""));

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});

test("the slip takes typed or pasted coordinates, swapped when given longitude first; picking fills them", async () => {
  const { context, page, errors, outside } = await desk({ width: 1440, height: 900 });
  await page.click("#tab-slip");
  await page.waitForSelector("#slip-team option[value]:not([value=''])", { state: "attached" });
  await page.waitForFunction(() => window.__maps.some((m) => m.getContainer().id === "slip-map"));
  const markers = () => page.locator('#slip-map path[fill="#c8102e"]').count();
  assert.equal(await page.textContent('label[for="slip-coords"]'), "坐标");

  // Rubbish is named beside the field, in the page's language.
  await page.fill("#slip-coords", "东经一百二十度");
  await page.locator("#slip-coords").blur();
  assert.match(await page.textContent('#slip-form [data-error-for="coords"]'), /无法识别坐标/);
  assert.equal(await page.getAttribute("#slip-coords", "aria-invalid"), "true");
  await page.fill("#slip-coords", "27.5, 200");
  await page.locator("#slip-coords").blur();
  assert.match(await page.textContent('#slip-form [data-error-for="coords"]'), /无法识别坐标/);
  assert.equal(await page.inputValue("#slip-lat"), "");

  // Longitude first (it cannot be a latitude): swapped; the marker and the map go there.
  await page.fill("#slip-coords", "120.5512,27.5788");
  await page.locator("#slip-coords").blur();
  assert.equal(await page.inputValue("#slip-lat"), "27.578800");
  assert.equal(await page.inputValue("#slip-lon"), "120.551200");
  assert.equal(await page.getAttribute("#slip-coords", "aria-invalid"), "false");
  assert.equal(await markers(), 1, "the slip's marker");
  await centredAt(page, "slip-map", [27.5788, 120.5512], 5); // the map went to it
  assert.equal(await page.textContent('#slip-form [data-error-for="coords"]'), "");

  // Picking on the map fills the field with the point picked.
  await page.click("#slip-map", { position: { x: 200, y: 150 } });
  const picked = (await page.inputValue("#slip-coords")).split(",").map(Number);
  assert.deepEqual(picked, [Number(await page.inputValue("#slip-lat")), Number(await page.inputValue("#slip-lon"))]);
  assert.ok(metres(picked, [27.5788, 120.5512]) > 10, "a new point");

  // Pasted, "lat lon" with a space: the slip is sent with exactly those coordinates.
  await page.fill("#slip-coords", "");
  await page.evaluate(() => navigator.clipboard.writeText("27.56432 120.57321"));
  await page.locator("#slip-coords").focus();
  await page.keyboard.press("ControlOrMeta+V"); // a real paste: placed at once
  assert.equal(await page.inputValue("#slip-lat"), "27.564320");
  await centredAt(page, "slip-map", [27.56432, 120.57321], 5);
  assert.equal(await markers(), 1, "one marker, moved");
  await page.fill("#slip-station", "新城联勤警务站");
  await page.selectOption("#slip-category", "patrol");
  await page.fill("#slip-address", "坐标测试路 1 号");
  await page.fill("#slip-description", "按坐标派单：路口有人滞留，需要巡逻队员到场");
  await page.click("#slip-form button[type=submit]");
  await page.waitForSelector("#toast .toast");
  let slip = null;
  for (let i = 0; i < 50 && !slip; i++) {
    slip = (await api(server.base, "GET", "/orders?source=station&per_page=20", admin)).items.find((o) => o.address === "坐标测试路 1 号");
    if (!slip) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(slip, "the slip was created");
  assert.equal(slip.lat, 27.56432);
  assert.equal(slip.lon, 120.57321);
  await page.screenshot({ path: SHOTS + "coordinator-slip-coords.png" });

  // Typed, "27.57, 120.56" as the hint says: placed once typing stops; English error text.
  await page.locator("#slip-coords").fill("");
  await page.locator("#slip-coords").pressSequentially("27.57, 120.56", { delay: 20 });
  assert.equal(await page.inputValue("#slip-lon"), "120.573210", "not at every digit");
  await page.waitForFunction(() => document.getElementById("slip-lon").value === "120.560000");
  await centredAt(page, "slip-map", [27.57, 120.56], 5);
  await page.click("#lang");
  assert.equal(await page.textContent('label[for="slip-coords"]'), "Coordinates");
  await page.fill("#slip-coords", "north");
  await page.locator("#slip-coords").blur();
  assert.match(await page.textContent('#slip-form [data-error-for="coords"]'), /Not coordinates/);
  assert.deepEqual(await unlabeled(page), []);

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});

test("GCJ-02 tiles: points drawn shifted to GCJ-02, picks and the view's box sent in WGS-84; subdomains and overlay", async () => {
  const { context, page, errors, outside, asked, tiles } = await desk({ width: 1440, height: 900 }, {
    tile_crs: "gcj02", tile_url: "/no-tiles/{s}/{z}/{x}/{y}.png", tile_subdomains: "abc", tile_overlay_url: "/no-overlay/{z}/{x}/{y}.png",
  });
  const cfg = await (await fetch(server.base + "/app-config.json")).json();

  // The map opens at the configured centre as GCJ-02 tiles show it.
  const c = await page.evaluate(() => { const m = window.__map("live-map"); return [m.getCenter().lat, m.getCenter().lng]; });
  assert.ok(metres(c, toGcj(...cfg.map_center)) < 1, `centre ${c}`);
  assert.ok(metres(c, cfg.map_center) > 100, "shifted from the WGS-84 centre");

  // Stations and orders are drawn at their GCJ-02 places.
  const stations = (await api(server.base, "GET", "/stations", admin)).items;
  const drawn = await page.evaluate(() => {
    const out = {};
    window.__map("live-map").eachLayer((l) => { const t = l.getTooltip && l.getTooltip(); if (t && l.getLatLng) out[t.getContent()] = [l.getLatLng().lat, l.getLatLng().lng]; });
    return out;
  });
  for (const st of stations) assert.ok(metres(drawn[st.name], toGcj(st.lat, st.lon)) < 0.01, `station ${st.name}`);
  const orders = await activeOrders();
  const o = orders[0];
  const at = Object.entries(drawn).find(([k]) => k.startsWith(o.code + " "))[1];
  assert.ok(metres(at, toGcj(o.lat, o.lon)) < 0.01, `order ${o.code}`);

  // The box asked for is the view's, back in WGS-84.
  await page.waitForTimeout(600);
  const box = asked.at(-1).searchParams.get("bbox").split(",").map(Number);
  const [s, w, n, e] = await page.evaluate(() => { const b = window.__map("live-map").getBounds().pad(0.5); return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; });
  const sw = toWgs(s, w), ne = toWgs(n, e);
  assert.ok(Math.abs(box[0] - sw[1]) < 1e-4 && Math.abs(box[1] - sw[0]) < 1e-4 && Math.abs(box[2] - ne[1]) < 1e-4 && Math.abs(box[3] - ne[0]) < 1e-4, `bbox ${box} for ${sw} ${ne}`);

  // From the list: the map centres on the order's GCJ-02 place.
  await page.click(`#map-orders button[data-order="${o.id}"]`);
  await page.waitForSelector("#order-dialog[open]");
  await centredAt(page, "live-map", toGcj(o.lat, o.lon), 1);
  await page.keyboard.press("Escape");

  // The slip: a point picked on the map is stored in WGS-84; typed WGS-84 is drawn in GCJ-02.
  await page.click("#tab-slip");
  await page.waitForFunction(() => window.__maps.some((m) => m.getContainer().id === "slip-map"));
  await page.evaluate(() => window.__map("slip-map").setZoom(16, { animate: false }));
  await page.click("#slip-map", { position: { x: 250, y: 200 } });
  const marker = () => page.evaluate(() => {
    let p = null;
    window.__map("slip-map").eachLayer((l) => { if (l.options && l.options.fillColor === "#c8102e") p = [l.getLatLng().lat, l.getLatLng().lng]; });
    return p;
  });
  // About where the click was (2.1 m a pixel at zoom 16)…
  const clicked = await page.evaluate(() => { const p = window.__map("slip-map").containerPointToLatLng([250, 200]); return [p.lat, p.lng]; });
  const stored = [Number(await page.inputValue("#slip-lat")), Number(await page.inputValue("#slip-lon"))];
  assert.ok(metres(await marker(), clicked) < 6, `marker ${await marker()}, clicked ${clicked}`);
  // …stored as the WGS-84 point that GCJ-02 tiles show there, drawn back at it.
  assert.ok(metres(toGcj(...stored), clicked) < 6, `stored ${stored}, picked ${clicked}`);
  assert.ok(metres(toGcj(...stored), await marker()) < 0.2);
  assert.ok(metres(stored, clicked) > 300, "not the GCJ-02 point itself");
  await page.fill("#slip-coords", "27.56432, 120.57321");
  await page.locator("#slip-coords").blur();
  assert.ok(metres(await marker(), toGcj(27.56432, 120.57321)) < 0.01, `marker ${await marker()}`);
  assert.equal(await page.inputValue("#slip-lat"), "27.564320");

  // Tiles through the subdomains, and the overlay above them.
  assert.ok(tiles.some((t) => /^\/no-tiles\/[abc]\/\d+\//.test(t)), tiles.slice(0, 3).join(" "));
  assert.ok(tiles.every((t) => !t.startsWith("/no-tiles/{s}")));
  assert.ok(tiles.some((t) => t.startsWith("/no-overlay/")));

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});

test("GCJ-02 tiles on the phone pages: the resident's pick is stored in WGS-84, the volunteer's position drawn in GCJ-02", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: PHONE });
  const outside = await offlineOnly(context, server.base);
  await context.route(server.base + "/app-config.json", async (route) => {
    const res = await route.fetch();
    route.fulfill({ response: res, json: Object.assign(await res.json(), { tile_crs: "gcj02" }) });
  });
  await context.addInitScript(KEEP_MAPS);
  const cfg = await (await fetch(server.base + "/app-config.json")).json();

  // The resident picks a place: what is stored is the WGS-84 point under the click.
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, "13700000003");
  await page.waitForFunction(() => window.__map("pick-map"));
  assert.ok(metres(await page.evaluate(() => { const c = window.__map("pick-map").getCenter(); return [c.lat, c.lng]; }), toGcj(...cfg.map_center)) < 1);
  await page.evaluate(() => window.__map("pick-map").setZoom(16, { animate: false }));
  await page.locator("#pick-map").scrollIntoViewIfNeeded();
  await page.click("#pick-map", { position: { x: 150, y: 120 } });
  const clicked = await page.evaluate(() => { const p = window.__map("pick-map").containerPointToLatLng([149, 119]); return [p.lat, p.lng]; });
  const stored = [Number(await page.inputValue("#lat")), Number(await page.inputValue("#lon"))];
  assert.ok(metres(toGcj(...stored), clicked) < 3, `stored ${stored}, clicked ${clicked}`);
  assert.ok(metres(stored, clicked) > 300);
  await page.close();

  // The volunteer's own position on the nearby map, where GCJ-02 tiles have it.
  const vol = watchErrors(await context.newPage(), errors);
  await logIn(vol, server.base, "15000000001");
  const token = await tokenFor(server.base, "15000000001");
  const me = (await api(server.base, "GET", "/me", token)).volunteer;
  await vol.waitForFunction(() => { let n = 0; window.__map("nearby-map")?.eachLayer((l) => { if (l.options?.fillColor === "#2471a3") n += 1; }); return n > 0; });
  const dot = await vol.evaluate(() => { let p = null; window.__map("nearby-map").eachLayer((l) => { if (l.options?.fillColor === "#2471a3") p = [l.getLatLng().lat, l.getLatLng().lng]; }); return p; });
  assert.ok(metres(dot, toGcj(me.lat, me.lon)) < 0.01, `dot ${dot}, position ${me.lat}, ${me.lon}`);

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});

test("phone width: filters, the map and the order list under it", async () => {
  const { context, page, errors, outside } = await desk(PHONE);
  const map = await page.locator("#live-map").boundingBox();
  const list = await page.locator("#map-orders").boundingBox();
  const filters = await page.locator("#map-filters").boundingBox();
  assert.ok(list.y >= map.y + map.height, `list at ${list.y}, map ends at ${map.y + map.height}`);
  assert.ok(filters.y + filters.height <= map.y, "filters above the map");
  assert.ok(list.width > PHONE.width * 0.8, "the list is full width");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `no sideways scroll (${width})`);
  await page.screenshot({ path: SHOTS + "coordinator-map-phone.png", fullPage: true });
  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});
