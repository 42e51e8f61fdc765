// Actions taken offline on the volunteer's phone: kept in the browser,
// shown as waiting, sent once when the network is back (the server's
// Idempotency-Key replay makes a repeat harmless), and an action refused
// meanwhile shown with the reason; a note being typed survives a dropped
// connection.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, api, tokenFor, logIn, watchErrors, PHONE } from "./harness.mjs";

const SPOT = { latitude: 27.4905, longitude: 120.4702 };
const VOLUNTEER = "15000000001";
let server, browser;
before(async () => { server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" }); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

async function place(admin, address) {
  return api(server.base, "POST", "/orders", admin, {
    category: "general", lat: SPOT.latitude, lon: SPOT.longitude, address,
    description: "楼下有人需要帮忙搬东西", urgency: "normal",
  });
}

test("offline actions wait, go once when online, and a refusal is shown", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, geolocation: SPOT, permissions: ["geolocation"] });
  const outside = await offlineOnly(context, server.base);
  const vol = watchErrors(await context.newPage(), errors);
  await logIn(vol, server.base, VOLUNTEER);
  await vol.waitForSelector("#duty-state:not(:empty)");
  if (!(await vol.isChecked("#duty"))) await vol.click("#duty");
  await vol.waitForFunction(() => /27\.49050/.test(document.getElementById("position").textContent));
  await vol.waitForFunction(() => document.getElementById("live").dataset.state === "on");
  const admin = await tokenFor(server.base, "13800000000");
  const volToken = await tokenFor(server.base, VOLUNTEER);
  const me = await api(server.base, "GET", "/me", volToken);

  // 1. Accepted offline, but the order is cancelled meanwhile: refused, with the reason.
  const a = await place(admin, "新城海景路 20 号");
  const offerA = vol.locator(`.offer`).first();
  await offerA.waitFor({ timeout: 20_000 });
  await context.setOffline(true);
  await offerA.locator("button.accept").click();
  await vol.waitForSelector("#outbox:not([hidden]) #outbox-list li");
  assert.match(await offerA.textContent(), /已保存，联网后自动发送/);
  await api(server.base, "POST", `/orders/${a.id}/cancel`, admin, { reason: "居民已自行解决" });
  await context.setOffline(false);
  await vol.waitForSelector("#refused:not([hidden]) #refused-list li", { timeout: 20_000 });
  assert.match(await vol.textContent("#refused-list"), /接单/);
  await vol.waitForSelector("#outbox", { state: "hidden" });

  // 2. Accepted offline, sent once when back online.
  await vol.waitForFunction(() => document.getElementById("live").dataset.state === "on", null, { timeout: 20_000 });
  const b = await place(admin, "新城海景路 22 号");
  const offerB = vol.locator(`.offer`).first();
  await offerB.waitFor({ timeout: 20_000 });
  await context.setOffline(true);
  await offerB.locator("button.accept").click();
  await vol.waitForSelector("#outbox:not([hidden]) #outbox-list li");
  await context.setOffline(false);
  await vol.waitForSelector("#current .task button.arrive", { timeout: 20_000 });
  await vol.waitForSelector("#outbox", { state: "hidden" });
  const detail = await api(server.base, "GET", "/orders/" + b.id, admin);
  const mine = detail.assignments.filter((x) => x.volunteer_id === me.id && x.state === "accepted");
  assert.equal(mine.length, 1);
  assert.equal(detail.events.filter((e) => e.kind === "offer_accepted").length, 1, "accepted once");

  // 3. A note being typed survives a dropped and restored connection.
  await vol.click("#current .task button.arrive");
  await vol.waitForSelector("#current form.complete textarea");
  await vol.fill("#current form.complete textarea", "已帮忙搬完，居民");
  await context.setOffline(true);
  await vol.waitForSelector("#offline-banner", { state: "visible" });
  await context.setOffline(false);
  await vol.waitForFunction(() => document.getElementById("live").dataset.state === "on", null, { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await vol.inputValue("#current form.complete textarea"), "已帮忙搬完，居民");

  // Withdrawing asks why; the only one on scene is told they cannot walk away.
  await vol.click("#current details.withdraw-box summary");
  await vol.fill("#current form.withdraw textarea", "临时有事");
  await vol.click("#current form.withdraw button[type=submit]");
  const said = '#current form.withdraw [data-error-for="_form"]';
  await vol.waitForFunction((sel) => document.querySelector(sel).textContent.length > 0, said);
  assert.match(await vol.textContent(said), /现场唯一的志愿者/);
  assert.equal(await vol.inputValue("#current form.complete textarea"), "已帮忙搬完，居民");

  // 4. Completed offline with the note: sent once, note and all, when back.
  await context.setOffline(true);
  await vol.click("#current form.complete button[type=submit]");
  await vol.waitForSelector("#outbox:not([hidden]) #outbox-list li");
  await context.setOffline(false);
  await vol.waitForSelector("#outbox", { state: "hidden", timeout: 20_000 });
  const done = await api(server.base, "GET", "/orders/" + b.id, admin);
  const completed = done.events.filter((e) => e.kind === "volunteer_completed");
  assert.equal(completed.length, 1, "completed once");
  assert.equal(completed[0].data.note, "已帮忙搬完，居民");

  // 5. A position taken offline waits and is sent when the network is back.
  const moved = { latitude: 27.4921, longitude: 120.4702 };
  await context.setOffline(true);
  await context.setGeolocation(moved);
  await vol.waitForSelector("#outbox:not([hidden]) #outbox-list li", { timeout: 20_000 });
  await context.setOffline(false);
  await vol.waitForSelector("#outbox", { state: "hidden", timeout: 20_000 });
  const where = await api(server.base, "GET", "/volunteers/" + me.id, admin);
  assert.ok(Math.abs(where.lat - moved.latitude) < 1e-6, `the new position reached dispatch: ${where.lat}`);

  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});
