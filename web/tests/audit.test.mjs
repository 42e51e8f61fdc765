// Issue 17: the audit trail reads as sentences (names, local times, no ids)
// in both languages, and the statistics bars show full team names, their
// values, round ticks, and an empty state for a period with no offers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors, PHONE } from "./harness.mjs";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
// axe-core's serious or critical violations on the page as it is.
async function serious(page) {
  await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(async () => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }));
  return r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => `${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const DESKTOP = { width: 1440, height: 900 };
const TZ = "America/New_York"; // not the server's nor the city's: times must be the browser's
let server, browser, admin;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  admin = await tokenFor(server.base, "13800000000");
});
after(async () => { await browser?.close(); server?.stop(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Two teams with an on-duty member who has a position, renamed so that their
// names differ only after the sixth character; a station slip for each, at
// its member's place and for that team first, so each team gets offers.
async function twoTeamsWithOffers() {
  const vols = (await api(server.base, "GET", "/volunteers?on_duty=true&per_page=500", admin)).items
    .filter((v) => v.lat !== null && v.lat !== undefined && v.active_tasks < v.capacity && v.skills.includes("patrol"));
  const byTeam = new Map();
  for (const v of vols) if (!byTeam.has(v.team_id)) byTeam.set(v.team_id, v);
  const picked = [...byTeam.values()].slice(0, 2);
  assert.equal(picked.length, 2, "two teams with someone on duty");
  const names = ["平安巡逻志愿服务一队", "平安巡逻志愿服务二队"];
  const orders = [];
  for (const [i, v] of picked.entries()) {
    await api(server.base, "PATCH", "/teams/" + v.team_id, admin, { name: names[i] });
    orders.push(await api(server.base, "POST", "/orders", admin, {
      source: "station", station: "新城联勤警务站", category: "patrol", urgency: "urgent", target_team_id: v.team_id,
      lat: v.lat, lon: v.lon, address: `测试地址 ${i + 1}`, description: "测试：需要巡逻队员到场维持秩序", headcount: 1,
    }));
  }
  // Their first waves go out within the dispatcher's batch window.
  for (const o of orders) {
    for (let i = 0; i < 75; i++) {
      const d = await api(server.base, "GET", "/orders/" + o.id, admin);
      if ((d.events || []).some((e) => e.kind === "wave_started")) break;
      await sleep(200);
    }
  }
  return { picked, names, orders, vols };
}

// The first volunteer offered `order` accepts through the API; returns them.
async function accept(vols, order) {
  const offered = (await api(server.base, "GET", "/orders/" + order.id, admin)).assignments.find((a) => a.state === "offered");
  assert.ok(offered, "someone was offered the order");
  const volunteer = vols.find((v) => v.id === offered.volunteer_id);
  const token = await tokenFor(server.base, volunteer.phone);
  for (let i = 0; i < 50; i++) {
    const r = await api(server.base, "GET", "/me/offers", token);
    const offer = (Array.isArray(r) ? r : r.items || []).find((x) => x.order_id === order.id);
    if (offer) {
      const res = await fetch(server.base + `/api/v1/offers/${offer.id}/accept`, {
        method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() }, body: "{}",
      });
      assert.ok(res.ok, `accept: ${res.status} ${await res.text()}`);
      return volunteer;
    }
    await sleep(200);
  }
  assert.fail("no offer reached the volunteer");
}

async function desk(viewport, more) {
  const errors = [];
  const context = await browser.newContext({ viewport, timezoneId: TZ, bypassCSP: true, ...more }); // axe is injected by the test
  const outside = await offlineOnly(context, server.base);
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, "13800000000");
  return { context, page, outside, errors };
}

async function openOrder(page, order) {
  await page.click("#tab-orders");
  await page.fill("#f-q", order.code);
  await page.click("#order-filters button[type=submit]");
  await page.click(`#orders-table tr[data-order="${order.id}"]`);
  await page.waitForSelector("#order-dialog[open] .events li");
}

// What a reader sees of the trail (details collapsed).
const trailText = (page) => page.$eval("#order-dialog .events", (e) => e.innerText);

let fixture;
test("audit trail: sentences with names and local times, no ids, in Chinese and English", async () => {
  fixture = await twoTeamsWithOffers();
  const [order] = fixture.orders;
  const taker = await accept(fixture.vols, order);
  const detail = await api(server.base, "GET", "/orders/" + order.id, admin);
  assert.ok(detail.events.some((e) => e.kind === "offer_accepted"), "accepted");

  for (const viewport of [DESKTOP, PHONE]) {
    const { context, page, outside, errors } = await desk(viewport);
    await openOrder(page, order);
    const zh = await trailText(page);
    assert.match(zh, /第1轮派单：半径/);
    assert.match(zh, /名志愿者/);
    assert.match(zh, /创建订单/);
    assert.ok(zh.includes(`${taker.display_name}接受派单`), `the volunteer by name: ${zh}`);
    assert.match(zh, /警务站 |协调员 |管理员 |系统派单/);
    assert.doesNotMatch(zh, UUID, "no id in the trail");
    assert.doesNotMatch(zh, /wave_started|offer_accepted|radius_m|\{"/, "no codes or JSON");
    // Local times, in the browser's zone.
    const first = detail.events[0];
    const shown = await page.$eval(`#order-dialog .events li time[datetime="${first.created_at}"]`, (t) => t.textContent);
    const want = new Date(first.created_at).toLocaleString("zh-CN", { timeZone: TZ, hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    assert.equal(shown, want);
    // Details on demand: collapsed, then a readable list (names, not ids).
    const wave = page.locator('#order-dialog .events li[data-kind="wave_started"]').first();
    assert.equal(await wave.locator("details").getAttribute("open"), null);
    await wave.locator("summary").click();
    const raw = await wave.locator("details dl").innerText();
    assert.match(raw, /半径/);
    assert.doesNotMatch(raw, UUID);
    assert.deepEqual(await serious(page), [], "axe: the trail");
    const tag = viewport === PHONE ? "phone" : "desktop";
    await page.locator("#order-dialog .events").scrollIntoViewIfNeeded();
    await page.screenshot({ path: SHOTS + `audit-trail-zh-${tag}.png`, fullPage: false });

    // English.
    await page.click("#dlg-close");
    await page.click("#lang");
    await openOrder(page, order);
    const en = await trailText(page);
    assert.match(en, /Wave 1: radius [\d.]+ k?m, \d+ volunteers? offered/);
    assert.match(en, /Order created/);
    assert.ok(en.includes(`${taker.display_name} accepted the offer`), en);
    assert.doesNotMatch(en, UUID);
    assert.doesNotMatch(en, /[第轮派单]/, "no Chinese sentence left");
    const shownEn = await page.$eval(`#order-dialog .events li time[datetime="${first.created_at}"]`, (t) => t.textContent);
    assert.equal(shownEn, new Date(first.created_at).toLocaleString("en-GB", { timeZone: TZ, hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }));
    await page.locator("#order-dialog .events").scrollIntoViewIfNeeded();
    await page.screenshot({ path: SHOTS + `audit-trail-en-${tag}.png`, fullPage: false });
    await page.click("#dlg-close");
    await page.click("#lang"); // back to Chinese for the next context
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("statistics: horizontal bars with full team names and values, teams with no offers folded, an empty period says so", async () => {
  if (!fixture) fixture = await twoTeamsWithOffers();
  for (const viewport of [DESKTOP, PHONE]) {
    const { context, page, outside, errors } = await desk(viewport);
    await page.click("#tab-stats");
    await page.waitForFunction(() => document.querySelectorAll("#stats-table tbody tr").length === 122);
    await page.waitForSelector("#chart-noshows .hbars li");
    // Both teams, by their full names, distinguishable.
    const names = await page.$$eval("#chart-noshows .hbars li .hbar-name", (n) => n.map((x) => x.textContent));
    for (const n of fixture.names) assert.ok(names.includes(n), `${n} in ${names.join(" | ")}`);
    // Each bar shows its value, and says it on hover.
    const bar = page.locator(`#chart-rate .hbars li[data-team="${fixture.picked[0].team_id}"]`);
    const value = (await bar.locator(".hbar-value").textContent()).trim();
    assert.match(value, /^(\d+%|—)$/);
    assert.equal(await bar.getAttribute("title"), `${fixture.names[0]}: ${value}`);
    const visible = await page.locator("#chart-rate .hbar-name").evaluateAll((n) => n.filter((x) => x.offsetParent).map((x) => x.getBoundingClientRect().width));
    assert.ok(visible.every((w) => w > 0));
    // Round ticks: 0, 20, … 100 for the rate.
    assert.deepEqual(await page.$$eval("#chart-rate .hbar-ticks span", (s) => s.map((x) => x.textContent)), ["0%", "20%", "40%", "60%", "80%", "100%"]);
    // The teams with no offers are folded behind a toggle.
    const shown = await page.locator("#chart-noshows .hbars li").count();
    const toggle = page.locator("#stats-zero");
    assert.ok(await toggle.isVisible());
    const idle = Number((await toggle.textContent()).match(/\d+/)[0]);
    assert.ok(idle > 0 && shown < 122, `${shown} shown, ${idle} folded`);
    const tag = viewport === PHONE ? "phone" : "desktop";
    await page.locator("#panel-stats .split").screenshot({ path: SHOTS + `stats-bars-${tag}.png` });
    await toggle.click();
    assert.equal(await page.locator("#chart-noshows .hbars li").count(), shown + idle);
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    assert.deepEqual(await serious(page), [], "axe: the bars");
    await toggle.click();
    assert.equal(await page.locator("#chart-noshows .hbars li").count(), shown);
    // A period with no offers: an empty state, no bars, the table stays.
    await page.fill("#s-from", "2025-01-01");
    await page.fill("#s-to", "2025-01-07");
    await page.click("#stats-form button[type=submit]");
    await page.waitForSelector("#stats-empty:not([hidden])");
    assert.equal((await page.textContent("#stats-empty")).trim(), "该时段没有派单");
    assert.equal(await page.locator("#panel-stats .split").isVisible(), false);
    assert.equal(await toggle.isVisible(), false);
    assert.equal(await page.locator("#stats-table tbody tr").count(), 122);
    await page.screenshot({ path: SHOTS + `stats-empty-${tag}.png`, fullPage: false });
    assert.deepEqual(outside, []);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("audit trail: every event kind reads as a sentence, without names from the server too", async () => {
  if (!fixture) fixture = await twoTeamsWithOffers();
  const order = fixture.orders[1];
  const real = await api(server.base, "GET", "/orders/" + order.id, admin);
  const vid = fixture.vols[0].id, other = "00000000-0000-4000-8000-000000000001", team = fixture.picked[1].team_id;
  const at = real.events[0].created_at;
  const ev = (kind, data, extra) => ({ id: 0, kind, actor_id: null, actor_role: null, from_status: null, to_status: null, data, created_at: at, ...extra });
  const synthetic = [
    ev("offer_declined", { volunteer_id: other, wave: 1 }), ev("offer_expired", { volunteer_id: other, wave: 2 }),
    ev("grabbed", { volunteer_id: vid, filled: 1, headcount: 2, role: "first_aid" }),
    ev("assigned", { volunteer_id: other, filled: 2, headcount: 2, role: null }, { actor_id: other, actor_role: "coordinator" }),
    ev("arrived", { volunteer_id: vid, distance_m: 35 }), ev("volunteer_completed", { volunteer_id: vid, note: "已处理" }),
    ev("volunteer_withdrew", { volunteer_id: vid, reason: "家中有事" }), ev("volunteer_removed", { volunteer_id: other, reason: "联系不上" }),
    ev("offers_withdrawn", { reason: "escalated", volunteers: [vid, other] }),
    ev("volunteer_replaced", { volunteer_id: other, by: vid, reason: "no_show", role: "patrol" }),
    ev("replacement_offered", { replaces: other, radius_m: 1500, offered: [vid], role: null, deadline: at }),
    ev("volunteer_overdue", { volunteer_id: other, expected_by: at, minutes_late: 12 }),
    ev("station_closed", { outcome: "resolved", note: "已回访" }, { actor_role: "client" }),
    ev("personal_data_erased", { retention_days: 180, messages: 3 }),
    ev("escalated", { after_wave: 3 }, { from_status: "open", to_status: "escalated" }),
    ev("redispatched", {}, { from_status: "escalated", to_status: "open", actor_id: other, actor_role: "admin" }),
    ev("unfilled", { removed: other }, { from_status: "assigned", to_status: "open" }),
    ev("in_progress", {}, { from_status: "assigned", to_status: "in_progress" }),
    ev("completed", {}, { from_status: "in_progress", to_status: "completed" }),
    ev("confirmed", { rating: 5 }, { from_status: "completed", to_status: "confirmed", actor_role: "resident" }),
    ev("auto_closed", { after_hours: 72 }, { from_status: "completed", to_status: "closed" }),
    ev("cancelled", { reason: "居民来电说明已有人帮忙" }, { from_status: "assigned", to_status: "cancelled" }),
    ev("team_only_started", { team_ids: [team], something_new: true }),
  ];
  // The server's names stripped: the page falls back to the order and the roster.
  const events = [...real.events.map((e) => ({ ...e, names: undefined, actor_name: undefined })), ...synthetic];
  // No service worker, so that the page's requests reach the route below.
  const { context, page, errors } = await desk(DESKTOP, { serviceWorkers: "block" });
  await page.route(`**/api/v1/orders/${order.id}`, (route) => route.fulfill({ json: { ...real, events } }));
  await page.click("#tab-roster"); // the roster's teams name teams
  await page.waitForSelector("#teams-table tbody tr");
  await openOrder(page, order);
  await page.$$eval("#order-dialog .events details", (ds) => ds.forEach((d) => { d.open = true; }));
  const all = await page.$eval("#order-dialog .events", (e) => e.innerText);
  assert.equal(await page.locator("#order-dialog .events li").count(), events.length);
  assert.doesNotMatch(all, UUID, "no id, even in the details");
  assert.doesNotMatch(all, /\bev\.|evk\.|undefined|NaN|\[object/, all);
  for (const s of ["婉拒了第1轮派单", "未在时限内回应第2轮派单", "抢单成功（1/2）", "被指派到此订单", "到场签到（距离35 米）", "完成任务：已处理",
    "退出订单：家中有事", "被撤下：联系不上", "撤回2份未回应的派单（转协调员处理）", "替换（未到场）", "通知1名志愿者，半径1.5 公里", "已迟12分钟",
    "警务站回执：已解决：已回访", "保留期180天已满", "第3轮后仍无人接单", "重新派单", "出现空缺", "开始处理", "待居民确认", "评分5星", "72小时无人确认",
    "订单取消：居民来电说明已有人帮忙", "记录：Team only started", "一名志愿者", "协调员", "警务站", "系统派单", "状态：派单中 → 无人接单"]) {
    assert.ok(all.includes(s), `${s} in:\n${all}`);
  }
  assert.ok(all.includes(fixture.names[1]), "a team by its roster name");
  await page.locator("#order-dialog .events").scrollIntoViewIfNeeded();
  await page.locator("#order-dialog").screenshot({ path: SHOTS + "audit-trail-all-kinds-zh.png" });
  await page.click("#dlg-close");
  await page.click("#lang");
  await openOrder(page, order);
  const en = await page.$eval("#order-dialog .events", (e) => e.innerText);
  assert.doesNotMatch(en, UUID);
  assert.doesNotMatch(en, /\bev\.|evk\.|undefined|NaN|\[object/, en);
  for (const s of ["declined the wave 1 offer", "claimed the order (1/2), as", "A volunteer was assigned by hand", "checked in on scene (35 m away)",
    "2 unanswered offers withdrawn (escalated to coordinators)", "1 volunteer offered to replace a volunteer, radius 1.5 km", "(no-show)", "Station closed the slip: resolved", "Nobody took it after wave 3",
    "Status: Dispatching → Escalated", "rated 5★", "Event: Team only started", "dispatcher", "Coordinator"]) {
    assert.ok(en.includes(s), `${s} in:\n${en}`);
  }
  await page.locator("#order-dialog .events").scrollIntoViewIfNeeded();
  await page.locator("#order-dialog").screenshot({ path: SHOTS + "audit-trail-all-kinds-en.png" });
  assert.deepEqual(errors, []);
  await context.close();
});
