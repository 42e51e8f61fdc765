// A screenshot of every page at phone (390×844) and desktop (1440×900)
// sizes, in Chinese and English, into web/test-output/ (page-*.png), and the
// phone pages checked for sideways scrolling on the way.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, logIn, watchErrors } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" }); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

const PAGES = [
  { name: "landing", phone: null, ready: "#login-title" },
  { name: "resident", phone: "13700000001", ready: "#new-order" },
  { name: "volunteer", phone: "15000000001", ready: "#duty-state:not(:empty)" },
  { name: "coordinator", phone: "13800000000", ready: "#counts:not(:empty)" },
];
const SIZES = [
  { size: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  { size: "desktop", viewport: { width: 1440, height: 900 } },
];

for (const p of PAGES) {
  test(`screenshots: ${p.name} page, phone and desktop, zh-CN and English`, async () => {
    const errors = [];
    for (const s of SIZES) {
      for (const lang of ["zh", "en"]) {
        const context = await browser.newContext({ viewport: s.viewport, isMobile: !!s.isMobile, hasTouch: !!s.hasTouch });
        const outside = await offlineOnly(context, server.base);
        await context.addInitScript((l) => localStorage.setItem("zd.lang", l), lang);
        const page = watchErrors(await context.newPage(), errors);
        if (p.phone) await logIn(page, server.base, p.phone); else await page.goto(server.base + "/");
        await page.waitForSelector(p.ready, { state: "attached" });
        assert.equal(await page.getAttribute("html", "lang"), lang === "zh" ? "zh-CN" : "en");
        await page.waitForTimeout(500); // lists and maps settle
        await page.screenshot({ path: `${SHOTS}page-${p.name}-${s.size}-${lang}.png`, fullPage: true });
        if (s.size === "phone" && p.name !== "coordinator") {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `${p.name} (${lang}) is ${overflow}px wider than the phone`);
        }
        assert.deepEqual(outside, [], "no request left the machine");
        await context.close();
      }
    }
    assert.deepEqual(errors, []);
  });
}
