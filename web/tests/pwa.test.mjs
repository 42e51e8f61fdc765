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
