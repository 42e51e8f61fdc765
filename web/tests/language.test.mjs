// The server's own messages in the page's language, in a real browser: the
// pages send their language with every call, and a refusal from the server
// (a field error, a conflict) reads in Chinese first and in English after
// the switch, with the same machine codes (issue 17 item 1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS } from "./harness.mjs";

let server, browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

const cjk = /[\u4e00-\u9fff]/;

test("a server refusal beside the field follows the page's language", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "en-US" });
  const outside = await offlineOnly(context, server.base);
  const page = await context.newPage();
  // What the page asks the server in: recorded from the requests themselves.
  const asked = [];
  page.on("request", (r) => { if (r.url().includes("/api/v1/")) asked.push(r.headers()["accept-language"]); });
  await page.goto(server.base + "/");
  await page.click("#show-register");

  // Chinese (the default, although the browser itself prefers English).
  await page.fill("#reg-name", "王阿姨");
  await page.fill("#reg-phone", "12345");
  await page.fill("#reg-password", "long-enough-pw");
  await page.click("#register button[type=submit]");
  await page.waitForFunction(() => document.getElementById("reg-phone-error").textContent.length > 0);
  const zh = await page.textContent("#reg-phone-error");
  assert.match(zh, cjk, zh);
  assert.match(zh, /手机号/);
  assert.equal(asked.at(-1), "zh-CN");
  await page.screenshot({ path: SHOTS + "language-server-zh-phone.png", fullPage: true });

  // English after the switch: the same refusal, in English.
  await page.click("#lang");
  await page.click("#register button[type=submit]");
  await page.waitForFunction(() => /mainland mobile number/.test(document.getElementById("reg-phone-error").textContent));
  const en = await page.textContent("#reg-phone-error");
  assert.doesNotMatch(en, cjk, en);
  assert.equal(asked.at(-1), "en");
  await page.screenshot({ path: SHOTS + "language-server-en-phone.png", fullPage: true });

  // A password too short, refused by the server's rule (8–128), in English.
  await page.fill("#reg-phone", "13500000991");
  await page.fill("#reg-password", "short");
  await page.click("#register button[type=submit]");
  await page.waitForFunction(() => document.getElementById("reg-password-error").textContent.length > 0);
  assert.equal(await page.textContent("#reg-password-error"), "must be 8 to 128 characters");
  // And back in Chinese.
  await page.click("#lang");
  await page.click("#register button[type=submit]");
  await page.waitForFunction(() => /[\u4e00-\u9fff]/.test(document.getElementById("reg-password-error").textContent));
  assert.equal(await page.textContent("#reg-password-error"), "密码须为 8 到 128 个字符");

  assert.deepEqual(outside, [], "no request left the machine");
  await context.close();
});

test("problem+json carries codes; the language is the caller's choice", async () => {
  const body = JSON.stringify({ phone: "12345", password: "long-enough-pw", display_name: "王" });
  const post = (lang) => fetch(server.base + "/api/v1/auth/register", {
    method: "POST", body, headers: Object.assign({ "Content-Type": "application/json" }, lang ? { "Accept-Language": lang } : {}),
  });
  const zh = await post(null);
  assert.equal(zh.status, 422);
  assert.equal(zh.headers.get("content-language"), "zh-CN");
  const zp = await zh.json();
  const en = await post("en");
  assert.equal(en.headers.get("content-language"), "en");
  const ep = await en.json();
  const phoneZh = zp.errors.find((e) => e.field === "phone");
  const phoneEn = ep.errors.find((e) => e.field === "phone");
  assert.equal(phoneZh.code, "phone.format");
  assert.equal(phoneEn.code, "phone.format");
  assert.match(phoneZh.message, cjk);
  assert.doesNotMatch(phoneEn.message, cjk);
});
