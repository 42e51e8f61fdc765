// People on the coordinator's desk, in a real browser: the roster search
// finds people as well as teams, with labelled totals; points adjusted by
// hand show the balance before and after, and the volunteer's open page shows
// the new balance live, without a reload (issue 17 item 7).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors } from "./harness.mjs";

const VOLUNTEER = "15000000003";
let server, browser, admin;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  admin = await tokenFor(server.base, "13800000000");
});
after(async () => { await browser?.close(); server?.stop(); });

test("an adjustment shows the balance to the coordinator and reaches the volunteer's page live", async () => {
  const errors = [];
  const volToken = await tokenFor(server.base, VOLUNTEER);
  const start = (await api(server.base, "GET", "/me/points", volToken)).balance;
  const me = (await api(server.base, "GET", `/volunteers?q=${VOLUNTEER}`, admin)).items[0];

  // The volunteer's page is open on a phone.
  const volCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const outVol = await offlineOnly(volCtx, server.base);
  const vol = watchErrors(await volCtx.newPage(), errors);
  await logIn(vol, server.base, VOLUNTEER);
  await vol.waitForFunction((n) => document.getElementById("balance").textContent === String(n), start);

  // The coordinator picks them and sees what they hold.
  const coCtx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const outCo = await offlineOnly(coCtx, server.base);
  const co = watchErrors(await coCtx.newPage(), errors);
  await logIn(co, server.base, "13800000000");
  await co.click("#tab-points");
  await co.fill("#p-search", VOLUNTEER);
  await co.waitForSelector(`#p-volunteer option[value="${me.id}"]`, { state: "attached" });
  await co.selectOption("#p-volunteer", me.id);
  await co.waitForFunction((n) => document.getElementById("p-chosen").textContent.includes(`当前积分 ${n}`), start);

  await co.fill("#p-amount", "20");
  await co.fill("#p-reason", "社区防汛值守");
  await co.click("#points-form button[type=submit]");
  const after = start + 20;
  await co.waitForFunction((n) => [...document.querySelectorAll("#toast .toast")].some((t) => t.textContent.includes(`当前积分 ${n}`)), after);

  // The volunteer's page follows without a reload, and says why.
  await vol.waitForFunction((n) => document.getElementById("balance").textContent === String(n), after, { timeout: 10_000 });
  await vol.waitForFunction(() => [...document.querySelectorAll("#toast .toast")].some((t) => t.textContent.includes("社区防汛值守")));
  await vol.screenshot({ path: SHOTS + "volunteer-points-live-phone.png", fullPage: true });
  assert.equal((await api(server.base, "GET", "/me/points", volToken)).balance, after);

  assert.deepEqual(errors, []);
  assert.deepEqual([...outVol, ...outCo], []);
  await volCtx.close(); await coCtx.close();
});

test("the roster search finds people by name or phone, with labelled totals, in both languages", async () => {
  const errors = [];
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const outside = await offlineOnly(ctx, server.base);
  const page = watchErrors(await ctx.newPage(), errors);
  await logIn(page, server.base, "13800000000");
  await page.click("#tab-roster");
  await page.waitForFunction(() => document.getElementById("teams-total").textContent === "共 122 支队伍");
  const v = (await api(server.base, "GET", `/volunteers?q=${VOLUNTEER}`, admin)).items[0];
  await page.fill("#team-q", VOLUNTEER);
  await page.waitForSelector(`#people-table tr[data-volunteer="${v.id}"]`);
  assert.match(await page.textContent("#people-found h3"), /^找到 1 名队员$/);
  assert.match(await page.textContent("#teams-total"), /^共 0 支队伍$/);
  // A name finds them too, and the row opens their edit dialog.
  await page.fill("#team-q", v.display_name);
  await page.waitForSelector(`#people-table tr[data-volunteer="${v.id}"] button`);
  await page.click(`#people-table tr[data-volunteer="${v.id}"] button`);
  await page.waitForFunction((name) => document.getElementById("ve-name")?.value === name, v.display_name);
  await page.screenshot({ path: SHOTS + "coordinator-roster-people.png", fullPage: true });
  await page.keyboard.press("Escape");
  // English.
  await page.evaluate(() => localStorage.setItem("zd.lang", "en"));
  await page.reload();
  await page.click("#tab-roster");
  await page.fill("#team-q", VOLUNTEER);
  await page.waitForFunction(() => document.querySelector("#people-found h3")?.textContent === "People found: 1");
  assert.match(await page.textContent("#teams-total"), /^Teams: 0$/);
  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await ctx.close();
});
