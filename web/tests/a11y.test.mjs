// axe-core (npm, used by the tests only) on every page, in both languages,
// at phone and desktop sizes: no serious or critical violation.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { startServer, launchBrowser, offlineOnly, logIn, PHONE, api, tokenFor } from "./harness.mjs";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
let server, browser;
before(async () => {
  server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" });
  browser = await launchBrowser();
  // An active order, so the desk's list beside the map has an item (far out,
  // where nobody is offered it: the volunteer's page stays as it was).
  const resident = await tokenFor(server.base, "13700000002");
  await api(server.base, "POST", "/orders", resident, { category: "patrol", lat: 27.95, lon: 120.95, address: "远郊渔港码头", description: "码头有人滞留，需要巡逻队员到场" });
});
after(async () => { await browser?.close(); server?.stop(); });

async function serious(page) {
  await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(async () => window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }));
  return r.violations
    .filter((v) => ["serious", "critical"].includes(v.impact))
    .map((v) => `${v.id} (${v.nodes.length}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}

const PAGES = [
  { name: "landing", phone: null, path: "/", viewport: PHONE },
  { name: "resident", phone: "13700000001", viewport: PHONE },
  { name: "volunteer", phone: "15000000001", viewport: PHONE },
  { name: "coordinator", phone: "13800000000", viewport: { width: 1440, height: 900 } },
];

for (const p of PAGES) {
  test(`axe: ${p.name} page, zh-CN and English, no serious or critical violations`, async () => {
    const context = await browser.newContext({ viewport: p.viewport, bypassCSP: true }); // axe is injected by the test, not served
    await offlineOnly(context, server.base);
    const page = await context.newPage();
    if (p.phone) await logIn(page, server.base, p.phone);
    else await page.goto(server.base + "/");
    await page.waitForLoadState("networkidle");
    if (p.name === "coordinator") await page.waitForSelector("#map-orders button[data-order]"); // the list beside the map, with its order
    const found = { zh: await serious(page) };
    if (p.name === "coordinator") {
      for (const tab of ["orders", "escalations", "roster", "slip", "stats", "points", "readiness", "rota"]) {
        await page.click("#tab-" + tab);
        await page.waitForLoadState("networkidle");
        found["zh/" + tab] = await serious(page);
        if (tab === "roster") {
          // A team's members, with the volunteer edit dialog open.
          await page.click("#teams-table tbody tr:first-child");
          await page.waitForSelector("#team-detail table tbody tr");
          found["zh/team"] = await serious(page);
        }
      }
      await page.click("#tab-map");
    }
    await page.click("#lang");
    await page.waitForLoadState("networkidle");
    found.en = await serious(page);
    for (const [k, v] of Object.entries(found)) assert.deepEqual(v, [], `${p.name} ${k}`);
    await context.close();
  });
}
