// The coordinator's desk in a real browser: a roster CSV with a bad row shows
// its per-line report, an escalated order is handled by manual assign, a
// station slip is sent, statistics and leaderboards draw, points are adjusted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors, unlabeled } from "./harness.mjs";

let server, browser, admin;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  admin = await tokenFor(server.base, "13800000000");
});
after(async () => { await browser?.close(); server?.stop(); });

async function desk() {
  const errors = [];
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const outside = await offlineOnly(context, server.base);
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, "13800000000");
  return { context, page, outside, errors };
}

test("roster: CSV import with a bad row shows the report by line and field; the good rows land", async () => {
  const { context, page, outside, errors } = await desk();
  const team = (await api(server.base, "GET", "/teams?per_page=1", admin)).items[0];
  await page.click("#tab-roster");
  await page.waitForSelector("#teams-table tbody tr");
  assert.equal((await page.textContent("#teams-total")).trim(), "共 122 支队伍");
  // Team kinds by their names, not their codes.
  const cat = await api(server.base, "GET", "/catalogue", admin);
  const firstRow = await page.$$eval("#teams-table tbody tr:first-child td", (tds) => tds.map((td) => td.textContent));
  const firstTeam = (await api(server.base, "GET", "/teams?per_page=500", admin)).items.find((t) => t.name === firstRow[0]);
  assert.equal(firstRow[1], cat.team_kinds.find((k) => k.code === firstTeam.kind).name_zh);
  assert.doesNotMatch(await page.textContent("#teams-table tbody"), /_/);
  const csv = "\ufeffphone,display_name,team,skills,certificates,capacity,is_leader,lat,lon\n"
    + `13611110001,陈晓燕,${team.name},patrol;first_aid,first_aid:2030-06-30,1,false,27.56,120.56\n`
    + `not-a-phone,坏号码,${team.name},patrol,,1,false,27.56,120.56\n`
    + `13611110003,周明,${team.name},flying,,1,false,,\n`;
  // No file chosen: named beside the field, nothing sent.
  await page.click("#import-form button[type=submit]");
  assert.equal(await page.textContent('#import-form [data-error-for="file"]'), "请填写此项");
  await page.setInputFiles("#import-file", { name: "roster.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.click("#import-form button[type=submit]");
  await page.waitForSelector("#import-report .summary");
  // The outcome column keeps its words on one line.
  const lines = await page.$$eval("#report-table tbody tr td:nth-child(3)", (tds) => tds.map((td) => {
    const r = document.createRange(); r.selectNodeContents(td);
    return new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size;
  }));
  assert.ok(lines.every((n) => n === 1), `one line each: ${JSON.stringify(lines)}`);
  assert.match(await page.textContent("#import-report .summary"), /共 3 行，新增 1.*失败 2/);
  assert.match(await page.textContent('#report-table tr[data-line="3"]'), /phone/);
  assert.match(await page.textContent('#report-table tr[data-line="4"]'), /skills/);
  assert.equal(await page.locator("#report-table tr.failed").count(), 2);
  await page.screenshot({ path: SHOTS + "coordinator-import-report.png", fullPage: true });
  const found = await api(server.base, "GET", "/volunteers?q=13611110001", admin);
  assert.equal(found.total, 1);
  assert.equal((await api(server.base, "GET", "/volunteers?q=13611110003", admin)).total, 0, "the bad row changed nothing");

  // The team opens with its members; an edit is saved.
  await page.click(`#teams-table tr[data-team="${team.id}"]`);
  await page.waitForSelector("#team-detail form.team-edit");
  assert.ok(await page.locator(`#team-detail tr[data-volunteer="${found.items[0].id}"]`).count());
  await page.fill("#te-area", "新城东片");
  await page.click("#team-detail form.team-edit button[type=submit]");
  await page.waitForFunction(async () => true);
  await page.waitForFunction((id) => [...document.querySelectorAll("#teams-table tr")].some((tr) => tr.dataset.team === id && tr.textContent.includes("新城东片")), team.id);
  assert.equal((await api(server.base, "GET", "/teams/" + team.id, admin)).area, "新城东片");

  // Export downloads the roster as CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
  assert.equal(download.suggestedFilename(), "roster.csv");
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("escalation: an order nobody can take appears live and is assigned by hand", async () => {
  const { context, page, outside, errors } = await desk();
  await page.click("#tab-escalations");
  await page.waitForSelector("#escalations li");
  const start = Number(await page.textContent("#esc-count"));
  // A resident far outside every dispatch radius: no wave finds anyone.
  await api(server.base, "POST", "/auth/register", null, { phone: "13755556666", password: "far-away-2026", display_name: "远方居民" });
  const resident = await tokenFor(server.base, "13755556666", "far-away-2026");
  const order = await api(server.base, "POST", "/orders", resident, {
    category: "patrol", lat: 27.95, lon: 120.95, address: "远郊渔港码头", description: "码头有人滞留，需要巡逻队员到场",
  });
  await page.waitForSelector(`#escalations li[data-order="${order.id}"]`, { timeout: 20_000 });
  assert.equal(Number(await page.textContent("#esc-count")), start + 1);
  await page.screenshot({ path: SHOTS + "coordinator-escalations.png" });
  await page.click(`#escalations li[data-order="${order.id}"] button.handle`);
  await page.waitForSelector("#order-dialog[open] .candidates li button.assign");
  const first = page.locator("#order-dialog .candidates li").first();
  const volunteerId = await first.getAttribute("data-volunteer");
  await first.locator("button.assign").click();
  await page.waitForFunction(() => document.querySelector("#order-dialog .badge")?.dataset.status === "assigned");
  const after = await api(server.base, "GET", "/orders/" + order.id, admin);
  assert.equal(after.status, "assigned");
  assert.deepEqual(after.assignments.filter((a) => a.state === "accepted").map((a) => a.volunteer_id), [volunteerId]);
  assert.match(await page.textContent("#order-dialog .events"), /无人接单/);
  await page.screenshot({ path: SHOTS + "coordinator-assigned.png" });

  // The volunteer does not show up: reassign the order to someone else.
  await page.click(`#order-dialog button.replace[data-volunteer="${volunteerId}"]`);
  await page.waitForSelector("#order-dialog .candidates li button.assign");
  const second = page.locator("#order-dialog .candidates li").first();
  const replacementId = await second.getAttribute("data-volunteer");
  assert.notEqual(replacementId, volunteerId);
  // Taking someone off asks why first: nothing is sent without a reason.
  await second.locator("button.assign").click();
  assert.equal(await page.textContent('#order-dialog .replace-why [data-error-for="reason"]'), "请填写此项");
  assert.equal((await api(server.base, "GET", "/orders/" + order.id, admin)).assignments.find((a) => a.volunteer_id === volunteerId).state, "accepted");
  await page.fill("#order-dialog .replace-why input", "联系不上，超时未到场");
  await second.locator("button.assign").click();
  await page.waitForSelector(`#order-dialog button.replace[data-volunteer="${replacementId}"]`);
  const swapped = await api(server.base, "GET", "/orders/" + order.id, admin);
  assert.equal(swapped.status, "assigned");
  assert.equal(swapped.filled, 1);
  const stateOf = (id) => swapped.assignments.find((a) => a.volunteer_id === id).state;
  assert.equal(stateOf(volunteerId), "removed");
  assert.equal(stateOf(replacementId), "accepted");
  const removal = swapped.events.find((e) => e.kind === "volunteer_removed");
  assert.equal(removal.data.reason, "联系不上，超时未到场");
  // Cancelling asks too, with a required reason that reaches the order.
  await page.click("#order-dialog details.cancel-box summary");
  await page.click("#order-dialog form.cancel-form button[type=submit]");
  assert.equal(await page.textContent('#order-dialog form.cancel-form [data-error-for="reason"]'), "请填写此项");
  assert.equal((await api(server.base, "GET", "/orders/" + order.id, admin)).status, "assigned", "nothing sent");
  await page.fill("#order-dialog form.cancel-form textarea", "居民来电说明已有人帮忙");
  await page.click("#order-dialog form.cancel-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#order-dialog .badge")?.dataset.status === "cancelled");
  const cancelled = await api(server.base, "GET", "/orders/" + order.id, admin);
  assert.equal(cancelled.cancel_reason ?? cancelled.events.find((e) => e.to_status === "cancelled").data.reason, "居民来电说明已有人帮忙");
  await page.click("#dlg-close");
  await page.waitForFunction((id) => !document.querySelector(`#escalations li[data-order="${id}"]`), order.id);
  // The resident sees the change on their own page.
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("station slip, live map, statistics, leaderboards and a points adjustment", async () => {
  const { context, page, outside, errors } = await desk();
  // Live map: on-duty volunteers are drawn (in clusters) with no tiles at all.
  await page.waitForFunction(() => document.querySelectorAll("#live-map .marker-cluster").length > 3);
  assert.ok(await page.locator(".map-note").count(), "the map says its tiles are unavailable");

  // Station slip: a missing place and an impossible headcount are named beside their fields.
  await page.click("#tab-slip");
  await page.waitForSelector("#slip-team option[value]:not([value=''])", { state: "attached" });
  const teams = await api(server.base, "GET", "/teams?per_page=500", admin);
  const team = teams.items.find((t) => t.station) || teams.items[0];
  await page.fill("#slip-station", team.station || "新城联勤警务站");
  await page.selectOption("#slip-team", team.id);
  await page.selectOption("#slip-category", "patrol");
  await page.fill("#slip-address", "新城菜市场东门");
  await page.fill("#slip-description", "菜市场门口发生争执，需要巡逻队员到场维持秩序");
  await page.click("#slip-form button[type=submit]");
  assert.equal(await page.textContent('#slip-form [data-error-for="lat"]'), "请在地图上选择位置或输入坐标");
  await page.click("#slip-map", { position: { x: 300, y: 300 } });
  await page.fill("#slip-headcount", "50");
  await page.click("#slip-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector('#slip-form [data-error-for="headcount"]').textContent.length > 0);
  assert.equal(await page.getAttribute("#slip-headcount", "aria-invalid"), "true");
  const before = (await api(server.base, "GET", "/orders?per_page=500", admin)).total;
  await page.fill("#slip-headcount", "2");
  await page.click("#slip-form button[type=submit]");
  await page.waitForSelector("#toast .toast");
  const orders = await api(server.base, "GET", "/orders?source=station&per_page=5", admin);
  assert.equal((await api(server.base, "GET", "/orders?per_page=500", admin)).total, before + 1);
  const slip = orders.items[0];
  assert.equal(slip.source, "station");
  assert.equal(slip.target_team_id, team.id);
  assert.equal(slip.headcount, 2);
  await page.screenshot({ path: SHOTS + "coordinator-slip.png" });

  // A joint incident: volunteers per role instead of one headcount.
  await page.fill("#slip-address", "新城大道与世纪大道路口");
  await page.fill("#slip-description", "两车相撞，一人受伤，需要急救和巡逻队员维持秩序");
  await page.fill("#slip-role-first_aid", "1");
  await page.fill("#slip-role-patrol", "2");
  await page.click("#slip-form button[type=submit]");
  let joint = null;
  for (let i = 0; i < 50 && !joint; i++) {
    const list = await api(server.base, "GET", "/orders?source=station&per_page=5", admin);
    joint = list.items.find((o) => o.roles.length);
    if (!joint) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(joint, "the joint slip was placed");
  assert.equal(joint.headcount, 3);
  assert.deepEqual(joint.roles.map((r) => [r.skill, r.count]), [["first_aid", 1], ["patrol", 2]]);
  // The form is ready for the next slip once the page has its answer.
  await page.waitForFunction(() => document.getElementById("slip-role-patrol").value === "0");

  // Its first wave goes out (team first) within the dispatcher's batch window.
  for (let i = 0; i < 50; i++) {
    const o = await api(server.base, "GET", "/orders/" + slip.id, admin);
    if (o.assignments.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok((await api(server.base, "GET", "/orders/" + slip.id, admin)).assignments.length > 0, "the slip was offered");

  // Orders table filters by source and code.
  await page.click("#tab-orders");
  await page.fill("#f-q", slip.code);
  await page.click("#order-filters button[type=submit]");
  await page.waitForFunction((id) => document.querySelectorAll("#orders-table tbody tr").length === 1 && document.querySelector(`#orders-table tr[data-order="${id}"]`), slip.id);

  // Statistics: one row per team, four bar charts of the teams with offers; leaderboards.
  await page.click("#tab-stats");
  await page.waitForFunction(() => document.querySelectorAll("#stats-table tbody tr").length === 122);
  for (const id of ["chart-rate", "chart-first", "chart-completion", "chart-noshows"]) {
    assert.ok(await page.locator(`#${id} .hbars li, #${id} .chart-empty`).count() >= 1, `${id} draws`);
  }
  const offered = await page.$$eval("#stats-table tbody tr", (rows) => rows.reduce((n, r) => n + Number(r.children[1].textContent), 0));
  assert.ok(offered >= 1, "the slip's offers are counted");
  await page.fill("#s-from", "2026-12-31");
  await page.fill("#s-to", "2026-01-01");
  await page.click("#stats-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector('#stats-form [data-error-for="from"]').textContent.length > 0);
  await page.screenshot({ path: SHOTS + "coordinator-stats.png", fullPage: true });

  // Points: search a volunteer, a bad amount is named, then the adjustment lands once.
  const vol = (await api(server.base, "GET", "/volunteers?q=15000000002", admin)).items[0];
  await page.click("#tab-points");
  await page.fill("#p-search", "15000000002");
  await page.waitForSelector(`#p-volunteer option[value="${vol.id}"]`, { state: "attached" });
  await page.selectOption("#p-volunteer", vol.id);
  await page.fill("#p-amount", "0");
  await page.fill("#p-reason", "协助社区活动");
  await page.click("#points-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector('#points-form [data-error-for="amount"]').textContent.length > 0);
  await page.fill("#p-amount", "15");
  await page.click("#points-form button[type=submit]");
  await page.waitForFunction(() => [...document.querySelectorAll("#toast .toast")].some((t) => t.textContent.includes("15")));
  const pts = await api(server.base, "GET", `/volunteers/${vol.id}/points`, admin);
  assert.equal(pts.balance, 15);
  await page.click("#tab-stats");
  await page.waitForFunction((name) => document.querySelector("#board tbody")?.textContent.includes(name), vol.display_name);

  // Every panel's controls have names for screen readers.
  for (const tab of ["map", "orders", "escalations", "roster", "slip", "stats", "points"]) {
    await page.click("#tab-" + tab);
    assert.deepEqual(await unlabeled(page), [], `unlabelled controls on the ${tab} panel`);
  }

  // English.
  await page.click("#lang");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("#tab-stats")).trim(), "Statistics");
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("readiness: coverage drawn as a heat layer and certificates running out, as the API says", async () => {
  const { context, page, outside, errors } = await desk();
  await page.click("#tab-readiness");
  await page.waitForSelector("#cov-summary:not(:empty)", { timeout: 20_000 });
  const skill = await page.inputValue("#cov-skill");
  const c = await api(server.base, "GET", `/coverage?skill=${skill}&radius_m=1000`, admin);
  const summary = await page.textContent("#cov-summary");
  assert.ok(summary.includes(`现在可派 ${c.available} 人`), summary);
  assert.ok(summary.includes(`${c.cells.length} 个格子中 ${c.gaps} 个`), summary);
  // The next 24 hours from the rota: one line per place and span the API names.
  const gapLines = await page.locator("#cov-gaps li[data-place]").count();
  assert.equal(gapLines, c.gaps_ahead.length);
  if (c.gaps_ahead.length) assert.match(await page.textContent("#cov-gaps"), new RegExp(c.gaps_ahead[0].place));
  const drawn = await page.locator("#cov-map path.leaflet-interactive").count();
  assert.equal(drawn, c.cells.length, "one rectangle per cell");
  // Another radius: fewer, larger cells or the same grid, redrawn.
  await page.selectOption("#cov-radius", "3000");
  await page.click("#cov-form button[type=submit]");
  const c3 = await api(server.base, "GET", `/coverage?skill=${skill}&radius_m=3000`, admin);
  await page.waitForFunction((n) => document.querySelectorAll("#cov-map path.leaflet-interactive").length === n, c3.cells.length);
  // Certificates within 90 days, as the API lists them.
  await page.selectOption("#cert-days", "90");
  await page.click("#cert-form button[type=submit]");
  const certs = await api(server.base, "GET", "/certificates/expiring?within_days=90", admin);
  await page.waitForFunction((n) => document.querySelectorAll("#cert-table tbody tr").length === n, certs.items.length);
  if (certs.items.length) {
    const first = await page.textContent("#cert-table tbody tr:first-child");
    assert.ok(first.includes(certs.items[0].display_name) && first.includes(certs.items[0].certified_until), first);
  } else {
    assert.equal(await page.isVisible("#cert-empty"), true);
  }
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("rota: a shift planned in the week view covers its hours, the rest show as gaps as the API says; removal asks first", async () => {
  const { context, page, outside, errors } = await desk();
  const team = (await api(server.base, "GET", "/teams?per_page=1", admin)).items[0];
  await page.click("#tab-rota");
  await page.waitForSelector("#rota-week tbody tr");
  await page.selectOption("#rota-team", team.id);
  const members = (await api(server.base, "GET", `/volunteers?team_id=${team.id}&per_page=500`, admin)).items;
  await page.waitForFunction((n) => document.querySelectorAll("#shift-volunteers option").length === n, members.length);
  // Nothing chosen: named beside the field, nothing sent.
  await page.click("#shift-form button[type=submit]");
  assert.equal(await page.textContent('#shift-form [data-error-for="starts_at"]'), "请填写此项");
  // Tomorrow 08:00–12:00 (the browser's local time; the view is in the city's), two volunteers, patrol.
  const d = new Date(Date.now() + 86400000);
  const day = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  await page.fill("#shift-starts", `${day}T08:00`);
  await page.fill("#shift-ends", `${day}T12:00`);
  await page.selectOption("#shift-volunteers", [members[0].id, members[1].id]);
  // A refresh of the week meanwhile keeps the choice.
  await page.click("#rota-form button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("#shift-volunteers option:checked").length === 2);
  await page.selectOption("#shift-kind", "patrol");
  await page.fill("#shift-note", "白沙片区巡逻");
  await page.click("#shift-form button[type=submit]");
  await page.waitForSelector("#shift-list li[data-shift]");
  const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }); // the city's day
  const rota = await api(server.base, "GET", `/teams/${team.id}/shifts?from=${today}`, admin);
  assert.equal(rota.shifts.length, 1);
  assert.equal(rota.shifts[0].kind, "patrol");
  // The shift's four hours are covered with two people; every hour the API
  // calls uncovered is red, and nothing else is.
  const start = new Date(`${day}T08:00`).toISOString();
  const covered = await page.$$eval("#rota-week td.covered", (tds) => tds.map((td) => [td.dataset.hour, td.textContent]));
  assert.equal(covered.length, 4, JSON.stringify(covered));
  assert.deepEqual(covered.map((c) => c[1]), ["2", "2", "2", "2"]);
  assert.ok(covered.some((c) => c[0] === start), JSON.stringify(covered));
  const gapHours = rota.uncovered.reduce((n, g) => n + (new Date(g.ends_at) - new Date(g.starts_at)) / 3600000, 0);
  assert.equal(await page.locator("#rota-week td.gap").count(), gapHours);
  assert.equal(gapHours, 7 * 24 - 4);
  assert.match(await page.textContent("#rota-summary"), new RegExp(`1 个班次；${gapHours} 个小时无人在岗`));
  assert.match(await page.textContent("#shift-list"), new RegExp(members[0].display_name));
  await page.screenshot({ path: SHOTS + "coordinator-rota.png", fullPage: true });
  // Removing asks first, then the week is empty again.
  await page.click("#shift-list details.confirm summary");
  await page.click("#shift-list button[data-remove]");
  await page.waitForSelector("#shift-list li.muted");
  assert.equal((await api(server.base, "GET", `/teams/${team.id}/shifts?from=${today}`, admin)).shifts.length, 0);
  assert.equal(await page.locator("#rota-week td.gap").count(), 7 * 24);
  assert.deepEqual(await unlabeled(page), []);
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});
