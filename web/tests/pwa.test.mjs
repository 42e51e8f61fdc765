// The volunteer's page as an installable app in the real Chromium: the
// manifest and service worker are there, the page opens offline with what
// it last showed and says in words that it is offline, and the live
// indicator comes back when the network does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, logIn, watchErrors, PHONE } from "./harness.mjs";

let server, browser;
// Tiles come from a path the server does not have (the map still works).
before(async () => { server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" }); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

test("installable, opens offline with the last known state, says it is offline", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  const outside = await offlineOnly(context, server.base);
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, "15000000001");

  // Install readiness: a manifest with icons, a service worker in control.
  const manifest = await page.evaluate(async () => {
    const href = document.querySelector('link[rel="manifest"]').href;
    const res = await fetch(href);
    return { type: res.headers.get("content-type"), body: await res.json() };
  });
  assert.match(manifest.type, /application\/manifest\+json/);
  assert.equal(manifest.body.display, "standalone");
  assert.ok(manifest.body.icons.some((i) => i.sizes === "512x512"), "a large icon");
  for (const icon of manifest.body.icons) {
    const status = await page.evaluate(async (src) => (await fetch(src)).status, icon.src);
    assert.equal(status, 200, icon.src);
  }
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.waitForSelector("#duty-state:not(:empty)");
  await page.waitForFunction(() => document.getElementById("live").dataset.state === "on", null, { timeout: 15_000 });
  const name = await page.textContent("#who");
  assert.ok(name.length > 0);
  assert.equal(await page.isVisible("#offline-banner"), false);

  // The network goes: a banner in words, the indicator says it too.
  await context.setOffline(true);
  await page.waitForSelector("#offline-banner", { state: "visible" });
  assert.match(await page.textContent("#offline-banner"), /网络已断开/);
  assert.equal(await page.getAttribute("#live", "data-state"), "off");
  assert.match(await page.textContent("#live"), /重连中/);

  // A reload offline opens the page with what it last showed.
  await page.reload();
  await page.waitForSelector("#duty-state:not(:empty)");
  assert.equal(await page.textContent("#who"), name, "the last known account and team");
  await page.waitForSelector("#offline-banner", { state: "visible" });

  // The network is back: the banner goes and the live connection returns.
  await context.setOffline(false);
  await page.waitForSelector("#offline-banner", { state: "hidden", timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById("live").dataset.state === "on", null, { timeout: 20_000 });

  assert.deepEqual(outside, [], "nothing loaded from outside the server");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a push shows the offer as a notification with its countdown; tapping opens the offer", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
  await context.grantPermissions(["notifications"], { origin: server.base });
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, "15000000002");
  await page.evaluate(() => navigator.serviceWorker.ready);
  // The page offers the switch and says whether it is on.
  await page.waitForSelector("#push-state:not(:empty)");
  assert.equal(await page.textContent("#push-state"), "未开启：只有打开本页时才能收到派单。");
  assert.equal(await page.isVisible("#push-on"), true);

  // Deliver a push to the service worker as a push service would (the
  // browser decrypts before the worker sees it; CDP hands over the plain data).
  const cdp = await context.newCDPSession(page);
  const registration = new Promise((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => {
      const r = e.registrations.find((x) => x.scopeURL.startsWith(server.base) && !x.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registration;
  const deadline = new Date(Date.now() + 90_000).toISOString();
  const offer = "0192f0a0-0000-7000-8000-000000000001";
  await cdp.send("ServiceWorker.deliverPushMessage", {
    origin: server.base, registrationId,
    data: JSON.stringify({ kind: "offer", title: "【紧急】新任务：急救求助 · 850米", body: "白沙路 18 号",
      url: `/volunteer.html#offer=${offer}`, tag: `offer-${offer}`, lang: "zh-CN", urgency: "urgent",
      deadline, receipt: "1.00" }),
  });
  let n = null;
  for (let i = 0; i < 100 && !n; i++) {
    n = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      const all = await reg.getNotifications();
      return all.length ? { title: all[0].title, body: all[0].body, tag: all[0].tag, url: all[0].data?.url } : null;
    });
    if (!n) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(n, "a notification is shown");
  assert.equal(n.title, "【紧急】新任务：急救求助 · 850米");
  assert.match(n.body, /剩余 1:[0-9]{2} 应答/);
  assert.match(n.body, /白沙路 18 号/);
  assert.equal(n.tag, `offer-${offer}`);
  assert.equal(n.url, `/volunteer.html#offer=${offer}`);
  assert.deepEqual(errors, []);
  await context.close();
});
