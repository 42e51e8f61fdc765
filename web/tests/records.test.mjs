// A volunteer's service records on their phone: their shifts (leaving one
// with a reason tells the desk), their service hours with the star level
// and its progress as the API counts them, the certificate PDF, in both
// languages. (Leaving tells the desk: tests/service_records.rs.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, offlineOnly, SHOTS, api, tokenFor, logIn, watchErrors, unlabeled, PHONE } from "./harness.mjs";

const VOLUNTEER = "15000000001"; // a team leader in the demo city: a year of patrols
let server, browser;
before(async () => { server = await startServer({ ZD_WEB__TILE_URL: "/no-tiles/{z}/{x}/{y}.png" }); browser = await launchBrowser(); });
after(async () => { await browser?.close(); server?.stop(); });

test("shifts, hours and star level on the volunteer's phone, as the API says; leaving a shift with a reason", async () => {
  const errors = [];
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, acceptDownloads: true });
  const outside = await offlineOnly(context, server.base);
  const admin = await tokenFor(server.base, "13800000000");
  const token = await tokenFor(server.base, VOLUNTEER);
  const me = await api(server.base, "GET", "/me", token);
  const starts = new Date(Date.now() + 2 * 3600000), ends = new Date(Date.now() + 6 * 3600000);
  await api(server.base, "POST", `/teams/${me.volunteer.team_id}/shifts`, admin, {
    starts_at: starts.toISOString(), ends_at: ends.toISOString(), volunteer_ids: [me.id], kind: "patrol", note: "白沙片区夜巡",
  });
  const page = watchErrors(await context.newPage(), errors);
  await logIn(page, server.base, VOLUNTEER);
  await page.waitForSelector("#my-shifts li[data-shift]");
  assert.match(await page.textContent("#my-shifts"), /巡逻服务（计入时长）/);
  assert.match(await page.textContent("#my-shifts"), /白沙片区夜巡/);

  // Hours and star level, as GET /me/hours counts them.
  const h = await api(server.base, "GET", "/me/hours", token);
  assert.ok(h.star_level >= 1, `a demo team leader has a star: ${JSON.stringify(h).slice(0, 200)}`);
  await page.waitForFunction(() => document.getElementById("star").textContent.includes("★"));
  assert.equal((await page.textContent("#star")).trim(), "★".repeat(h.star_level) + ` ${h.star_level}星志愿者`);
  assert.match(await page.textContent("#hours-total"), new RegExp(`累计 ${(h.lifetime_minutes / 60).toFixed(1)} 小时`));
  const bar = await page.$eval("#star-progress", (p) => [p.value, p.max]);
  const prev = [0, 100, 300, 600, 1000, 1500][h.star_level];
  assert.deepEqual(bar, [h.lifetime_minutes - prev * 60, (h.next_star_hours - prev) * 60]);
  assert.match(await page.textContent("#star-next"), new RegExp(`距${h.star_level + 1}星还差 ${((h.next_star_hours * 60 - h.lifetime_minutes) / 60).toFixed(1)} 小时`));
  assert.equal(await page.locator("#hours-items li").count(), Math.min(10, h.items.length));
  await page.screenshot({ path: SHOTS + "volunteer-hours-phone.png", fullPage: true });

  // The certificate downloads as a PDF.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#hours-certificate")]);
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  assert.equal(Buffer.concat(chunks).subarray(0, 4).toString(), "%PDF");

  // Leaving the shift: a reason is required, then the desk is told.
  await page.click("#my-shifts details.leave-box summary");
  await page.click("#my-shifts form.leave button[type=submit]");
  assert.equal(await page.textContent('#my-shifts form.leave [data-error-for="reason"]'), "请填写此项");
  await page.fill("#my-shifts form.leave textarea", "家里老人生病");
  await page.click("#my-shifts form.leave button[type=submit]");
  await page.waitForFunction(() => /已请假：家里老人生病/.test(document.getElementById("my-shifts").textContent));
  const mine = await api(server.base, "GET", "/me/shifts", token);
  assert.equal(mine.shifts[0].members.find((m) => m.volunteer_id === me.id).leave_reason, "家里老人生病");

  // English.
  await page.click("#lang");
  await page.waitForFunction(() => /star volunteer/.test(document.getElementById("star").textContent));
  assert.match(await page.textContent("#hours-title"), /Service hours/);
  assert.match(await page.textContent("#my-shifts"), /Left: 家里老人生病/);
  assert.deepEqual(await unlabeled(page), []);
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await context.close();
});
