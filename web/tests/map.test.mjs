// The desk's live map in a real browser with no tiles: police stations and
// teams' bases drawn with a legend, and only the volunteers the view shows
// loaded (the API's bbox), reloaded when the view changes (issue 17 items 5, 9).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors } from "./harness.mjs";

let server, browser, admin;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  admin = await tokenFor(server.base, "13800000000");
});
after(async () => { await browser?.close(); server?.stop(); });

test("stations and bases on the map; volunteers loaded for the view only, again when it changes", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const outside = await offlineOnly(context, server.base);
  const page = watchErrors(await context.newPage(), errors);
  const asked = [];
  page.on("request", (r) => { if (r.url().includes("/api/v1/volunteers?")) asked.push(new URL(r.url())); });
  await logIn(page, server.base, "13800000000");
  const inView = () => page.evaluate(() => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]));
  await page.waitForFunction(() => /\d+\D*$/.test(document.getElementById("counts").textContent) && Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]) > 0);

  // Every volunteer request names the view; the count is what the API has in that box.
  assert.ok(asked.length > 0 && asked.every((u) => u.searchParams.get("bbox")), asked.map(String).join("\n"));
  const whole = await inView();
  const box = asked.at(-1).searchParams.get("bbox");
  const api1 = await api(server.base, "GET", `/volunteers?on_duty=true&per_page=1&bbox=${box}`, admin);
  assert.equal(whole, api1.total);

  // Stations and bases, as the API lists them, each with its name.
  const stations = (await api(server.base, "GET", "/stations", admin)).items;
  const bases = (await api(server.base, "GET", "/teams?per_page=500", admin)).items.filter((t) => t.base);
  assert.ok(stations.length > 0 && bases.length > 0);
  const ringed = await page.evaluate(() => document.querySelectorAll('#live-map path[stroke="#1a4f9c"]').length);
  const based = await page.evaluate(() => document.querySelectorAll('#live-map path[stroke="#6b3fa0"]').length);
  assert.equal(ringed, stations.length);
  assert.equal(based, bases.length);
  assert.match(await page.textContent(".legend"), /警务站\s+队伍驻地/);

  // Zoomed in, a new box is asked for and fewer volunteers are drawn.
  const before = asked.length;
  for (let i = 0; i < 4; i++) { await page.click(".leaflet-control-zoom-in"); await page.waitForTimeout(300); }
  await page.waitForFunction((n) => n < window.performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/v1/volunteers?")).length, before);
  await page.waitForTimeout(1000);
  const zoomedBox = asked.at(-1).searchParams.get("bbox");
  assert.notEqual(zoomedBox, box);
  const api2 = await api(server.base, "GET", `/volunteers?on_duty=true&per_page=1&bbox=${zoomedBox}`, admin);
  await page.waitForFunction((n) => Number(document.getElementById("counts").textContent.match(/(\d+)\D*$/)[1]) === n, api2.total);
  assert.ok(api2.total < whole, `${api2.total} in the zoomed view, ${whole} before`);
  await page.screenshot({ path: SHOTS + "coordinator-map-places.png" });

  assert.deepEqual(errors, []);
  assert.deepEqual(outside, []);
  await context.close();
});
