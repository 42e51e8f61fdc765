// The landing page and the API docs in a real headless Chromium, on a
// phone-sized screen, with every request outside the server refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

test("landing page: zh-CN first, English switch, login errors beside the field, then who I am", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const outside = await offlineOnly(context, server.base);
  const page = await context.newPage();
  await page.goto(server.base + "/");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  assert.equal((await page.textContent("#login-title")).trim(), "登录");
  await page.screenshot({ path: SHOTS + "landing-zh.png", fullPage: true });

  // A missing field is named next to it.
  await page.click("#login button[type=submit]");
  assert.equal(await page.textContent("#phone-error"), "请填写此项");
  assert.equal(await page.getAttribute("#phone", "aria-invalid"), "true");

  // English.
  await page.click("#lang");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal((await page.textContent("#login-title")).trim(), "Log in");

  // Wrong password: the API's 401 problem is shown.
  await page.fill("#phone", "13900000001");
  await page.fill("#password", "wrong-password");
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => document.getElementById("form-error").textContent.length > 0);
  assert.equal(await page.textContent("#form-error"), "Wrong mobile number or password");

  // The demo coordinator logs in and lands on their desk.
  await page.fill("#password", "zhongdui-demo");
  await page.click("#login button[type=submit]");
  await page.waitForURL(/coordinator\.html/);
  // Back on the landing page: who I am, and the way back to my desk.
  await page.goto(server.base + "/");
  await page.waitForSelector("#me-card:not([hidden])");
  assert.equal(await page.textContent("#me-role"), "Coordinator");
  assert.match(await page.textContent("#me-team"), /1 teams/);
  assert.equal(await page.getAttribute("#open-home", "href"), "/coordinator.html");
  await page.screenshot({ path: SHOTS + "landing-logged-in.png", fullPage: true });

  // Nothing fits badly on a phone: no horizontal scrolling.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  assert.deepEqual(outside, [], "no request left the machine");
  await context.close();
});

test("API docs render offline", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const outside = await offlineOnly(context, server.base);
  const page = await context.newPage();
  // It renders under the pages' Content-Security-Policy (no inline script).
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const res = await page.goto(server.base + "/api/docs/");
  assert.match(res.headers()["content-security-policy"] ?? "", /script-src 'self'/);
  await page.waitForSelector(".swagger-ui .opblock", { timeout: 20_000 });
  const ops = await page.locator(".opblock").count();
  assert.ok(ops >= 15, `only ${ops} operations shown`);
  assert.match(await page.textContent(".swagger-ui .title"), /Zhongdui/);
  await page.screenshot({ path: SHOTS + "api-docs.png" });
  assert.deepEqual(violations, [], "no CSP violation");
  assert.deepEqual(outside, [], "no request left the machine");
  await context.close();
});
