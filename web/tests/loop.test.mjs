// The whole closed loop in three browser contexts against the real binary:
// a resident submits, a volunteer (geolocated at the spot) gets the offer
// live and accepts, the resident sees it live, the volunteer arrives and
// completes, the resident confirms and rates, the volunteer's points go up;
// a coordinator watches the order on the live map and reads its audit trail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors, unlabeled, PHONE } from "./harness.mjs";

// Tiles come from a path the server does not have: the maps must still show their markers.
const NO_TILES = { ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" };
// A quiet corner of the demo area, so the volunteer standing on it is the nearest.
const SPOT = { latitude: 27.4905, longitude: 120.4702 };
const VOLUNTEER = "15000000001";

let server, browser;
before(async () => { server = await startServer(NO_TILES); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

test("resident → volunteer → resident: the closed loop, live, on phones", async () => {
  const errors = [];
  const phone = { viewport: PHONE, isMobile: true, hasTouch: true, geolocation: SPOT, permissions: ["geolocation"] };
  const resCtx = await browser.newContext(phone);
  const volCtx = await browser.newContext(phone);
  const coCtx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const outside = await offlineOnly(resCtx, server.base);
  const outVol = await offlineOnly(volCtx, server.base);
  const outCo = await offlineOnly(coCtx, server.base);

  // The volunteer goes on duty and shares the spot as their position.
  const vol = watchErrors(await volCtx.newPage(), errors);
  await logIn(vol, server.base, VOLUNTEER);
  await vol.waitForSelector("#duty-state:not(:empty)");
  if (!(await vol.isChecked("#duty"))) await vol.click("#duty");
  await vol.waitForFunction(() => /27\.49050/.test(document.getElementById("position").textContent));
  const volToken = await tokenFor(server.base, VOLUNTEER);
  const before = (await api(server.base, "GET", "/me/points", volToken)).balance;
  assert.equal(await vol.textContent("#balance"), String(before));

  // The coordinator watches the live map.
  const co = watchErrors(await coCtx.newPage(), errors);
  await logIn(co, server.base, "13800000000");
  await co.waitForFunction(() => /\d+/.test(document.getElementById("counts").textContent));

  // A new resident signs up and asks for help at the spot.
  const res = watchErrors(await resCtx.newPage(), errors);
  await res.goto(server.base + "/");
  await res.click("#show-register");
  await res.fill("#reg-name", "王阿姨");
  await res.fill("#reg-phone", "13712345678");
  await res.fill("#reg-password", "short");
  await res.click("#register button[type=submit]");
  // The API's problem names the field; the message is shown beside it.
  await res.waitForFunction(() => document.getElementById("reg-password-error").textContent.length > 0);
  assert.equal(await res.getAttribute("#reg-password", "aria-invalid"), "true");
  await res.fill("#reg-password", "wang-ayi-2026");
  await res.click("#register button[type=submit]");
  await res.waitForURL(/resident\.html/);
  await res.waitForSelector("#category option[value=general]", { state: "attached" });
  // The category is asked for, never defaulted.
  assert.equal(await res.inputValue("#category"), "");
  await res.click("#new-order button[type=submit]");
  assert.equal(await res.textContent("#category-error"), "请填写此项");
  // First aid: the emergency numbers come first, as tap-to-call links.
  await res.selectOption("#category", "first_aid");
  assert.equal(await res.textContent("#category-error"), "", "the hint goes once the field is filled");
  assert.equal(await res.isVisible("#life-call"), true);
  assert.deepEqual(await res.$$eval("#life-call a", (as) => as.map((a) => a.getAttribute("href"))), ["tel:120", "tel:110", "tel:119"]);
  const tap = await res.locator("#life-call a").first().boundingBox();
  assert.ok(tap.height >= 44, `a tap target: ${tap.height}px`);
  await res.selectOption("#category", "general");
  assert.equal(await res.isVisible("#life-call"), false);
  await res.click("#use-mine");
  await res.waitForFunction(() => document.getElementById("lat").value !== "");
  await res.fill("#address", "龙港市新城海景路 18 号");
  // Missing description: named beside the field, nothing sent.
  await res.click("#new-order button[type=submit]");
  assert.equal(await res.textContent("#description-error"), "请填写此项");
  await res.fill("#description", "老人摔倒在家门口，需要帮忙扶起并陪同");
  await res.screenshot({ path: SHOTS + "loop-1-resident-form.png", fullPage: true });
  // The volunteer is scrolled down to the bottom of their page when it comes.
  await vol.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await res.click("#new-order button[type=submit]");
  const card = res.locator("#orders li[data-order]").first();
  await card.waitFor();
  const orderId = await card.getAttribute("data-order");
  assert.ok(orderId);
  // The form folds away; the request is tracked: its steps and the time waited.
  assert.equal(await res.isVisible("#new-order"), false);
  assert.equal(await res.isVisible("#new-again"), true);
  assert.equal(await card.locator("ol.steps li[aria-current=step]").textContent(), "已发布");
  await res.waitForFunction((id) => /已过去 \d+ 分 \d+ 秒/.test(document.querySelector(`#orders li[data-order="${id}"] .elapsed`).textContent), orderId);

  // The offer arrives live on the volunteer's phone, with a countdown.
  const offer = vol.locator(".offer").first();
  await offer.waitFor({ timeout: 20_000 });
  assert.match(await offer.textContent(), /龙港市新城海景路 18 号/);
  assert.match(await offer.locator(".countdown").textContent(), /剩余 \d+ 秒/);
  assert.match(await offer.textContent(), /老人摔倒在家门口/, "the offer says what is needed");
  // Pinned over the page: on screen although the page is scrolled away from its list.
  const box = await offer.boundingBox();
  const height = await vol.evaluate(() => window.innerHeight);
  assert.ok(box && box.y >= 0 && box.y + box.height <= height + 1, `the offer is on screen: ${JSON.stringify(box)}, ${height}`);
  assert.ok(await vol.evaluate(() => window.scrollY > 0), "the page stayed scrolled");
  await vol.screenshot({ path: SHOTS + "loop-2-volunteer-offer.png", fullPage: true });
  await offer.locator("button.accept").click();
  await vol.waitForSelector("#current .task button.arrive");

  // The resident sees who is coming, without reloading.
  await res.waitForFunction((id) => {
    const li = document.querySelector(`#orders li[data-order="${id}"]`);
    return li && li.querySelector(".status").dataset.status === "assigned" && li.querySelector(".volunteer");
  }, orderId, { timeout: 15_000 });
  assert.match(await card.locator(".volunteer").textContent(), /已接单/);
  assert.equal(await card.locator("ol.steps li[aria-current=step]").textContent(), "已接单");
  assert.match(await card.locator(".volunteer").textContent(), /预计 \d\d:\d\d 前到达/, "an ETA");
  // Its map shows the order and the volunteer even though tiles cannot load.
  assert.ok((await card.locator(".leaflet-interactive").count()) >= 1);
  await res.screenshot({ path: SHOTS + "loop-3-resident-assigned.png", fullPage: true });

  // The coordinator's map shows the order live.
  await co.waitForFunction(() => document.querySelectorAll("#live-map path.leaflet-interactive").length > 0);

  // The liaison thread: the resident writes, the volunteer reads it live and answers.
  const resThread = card.locator("details.thread-box");
  await resThread.locator("summary").click();
  await resThread.locator("textarea").fill("我在单元门口等你");
  await resThread.locator("button[type=submit]").click();
  await resThread.locator(".thread li", { hasText: "我在单元门口等你" }).waitFor();
  const volThread = vol.locator("#current details.thread-box");
  await volThread.locator("summary").click();
  await volThread.locator(".thread li", { hasText: "我在单元门口等你" }).waitFor({ timeout: 15_000 });
  await volThread.locator("textarea").fill("两分钟到");
  await volThread.locator("button[type=submit]").click();
  await resThread.locator(".thread li", { hasText: "两分钟到" }).waitFor({ timeout: 15_000 });
  assert.match(await resThread.locator("summary").textContent(), /联络 \(2\)/);

  // Arrive (geofenced at the spot) and complete with a note.
  await vol.click("#current .task button.arrive");
  await vol.waitForSelector("#current form.complete");
  await res.waitForFunction((id) => document.querySelector(`#orders li[data-order="${id}"] .status`).dataset.status === "in_progress", orderId, { timeout: 15_000 });
  await vol.fill("#current form.complete textarea", "已扶起老人，送回家中，家属已到场");
  await vol.click("#current form.complete button[type=submit]");
  await vol.waitForFunction(() => !document.querySelector("#current form.complete"));
  // Done and waiting for the resident: one quiet line, no navigation buttons.
  await vol.waitForSelector(`#current .done-task[data-order="${orderId}"]`);
  assert.equal(await vol.locator(`#current .task[data-order="${orderId}"]`).count(), 0);
  assert.match(await vol.textContent(`#current .done-task[data-order="${orderId}"]`), /已完成，等待居民确认/);

  // The resident confirms and rates five stars.
  await res.waitForSelector(`#orders li[data-order="${orderId}"] form.confirm`, { timeout: 15_000 });
  await res.screenshot({ path: SHOTS + "loop-4-resident-confirm.png", fullPage: true });
  await res.fill(`#orders li[data-order="${orderId}"] form.confirm textarea`, "非常及时，谢谢！");
  await res.click(`#orders li[data-order="${orderId}"] form.confirm button[type=submit]`);
  await res.waitForFunction((id) => document.querySelector(`#orders li[data-order="${id}"] .status`).dataset.status === "confirmed", orderId);
  assert.match(await card.textContent(), /已评价：5 星/);

  // The volunteer's points go up live.
  await vol.waitForFunction((b) => Number(document.getElementById("balance").textContent) > b, before, { timeout: 15_000 });
  const after = Number(await vol.textContent("#balance"));
  assert.equal(after, (await api(server.base, "GET", "/me/points", volToken)).balance);
  assert.ok(after > before);
  assert.match(await vol.textContent("#history"), /任务积分/);
  await vol.screenshot({ path: SHOTS + "loop-5-volunteer-points.png", fullPage: true });

  // The coordinator reads the audit trail of the whole loop.
  await co.click("#tab-orders");
  await co.click(`#orders-table tr[data-order="${orderId}"]`);
  await co.waitForSelector("#order-dialog[open] .events li");
  const trail = await co.textContent("#order-dialog .events");
  for (const step of ["已接单", "处理中", "待确认", "已确认"]) assert.ok(trail.includes(step), `audit trail lacks ${step}: ${trail}`);
  await co.screenshot({ path: SHOTS + "loop-6-coordinator-audit.png" });

  // The volunteer goes off duty: the coordinator's live map drops them at once.
  const onDuty = () => co.evaluate(() => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]));
  const dutyBefore = await onDuty();
  await vol.click("#duty");
  await vol.waitForFunction(() => !document.getElementById("duty").checked);
  await co.waitForFunction((n) => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]) === n - 1, dutyBefore);
  assert.equal(await onDuty(), dutyBefore - 1);

  // Phones: nothing wider than the screen; every control has a name for screen readers.
  for (const p of [res, vol, co]) assert.deepEqual(await unlabeled(p), [], `unlabelled controls on ${p.url()}`);
  for (const p of [res, vol]) {
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${p.url()} is ${overflow}px wider than the phone`);
  }
  assert.deepEqual([...outside, ...outVol, ...outCo], [], "no request left the machine");
  assert.deepEqual(errors, [], "no script errors");
  await Promise.all([resCtx.close(), volCtx.close(), coCtx.close()]);
});
