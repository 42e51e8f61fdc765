// Starts the real zhongdui binary in an empty directory with the demo data
// and a headless Debian Chromium (never a downloaded browser).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const SHOTS = new URL("../test-output/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

export async function startServer(extraEnv = {}) {
  const bin = process.env.ZHONGDUI_BIN;
  if (!bin) throw new Error("set ZHONGDUI_BIN to the built zhongdui binary");
  const dir = mkdtempSync(join(tmpdir(), "zd-web-"));
  const env = { ...process.env, RUST_LOG: "warn" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, extraEnv);
  const child = spawn(bin, ["serve", "--demo", "--bind", "127.0.0.1:0"], { cwd: dir, env, stdio: ["ignore", "pipe", "inherit"] });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start in 60 s")), 60_000);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = line.match(/listening on (http:\/\/[^\s/]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  return {
    base,
    stop() { child.kill("SIGTERM"); rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

// Fails the page's requests to anywhere but the server, and records them.
export async function offlineOnly(context, base) {
  const outside = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith("data:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return outside;
}

// Calls the API from the test itself (set-up and checks beside the browser).
export async function api(base, method, path, token, body) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + "/api/v1" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return json;
}

export async function tokenFor(base, phone, password = "zhongdui-demo") {
  return (await api(base, "POST", "/auth/login", null, { phone, password })).token;
}

// Logs in through the landing page and waits for the role's page.
export async function logIn(page, base, phone, password = "zhongdui-demo") {
  await page.goto(base + "/");
  await page.fill("#phone", phone);
  await page.fill("#password", password);
  await page.click("#login button[type=submit]");
  await page.waitForURL(/(resident|volunteer|coordinator)\.html/);
}

// Records uncaught page errors so a test can assert there were none.
export function watchErrors(page, sink) {
  page.on("pageerror", (e) => sink.push(`${page.url()}: ${e.message}`));
  return page;
}

export const PHONE = { width: 390, height: 844 };

// Form controls a screen reader could not name (no label, aria-label or aria-labelledby).
export async function unlabeled(page) {
  return page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => el.type !== "hidden" && !el.closest("[hidden]"))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")
      && !(el.tagName === "BUTTON" && el.textContent.trim()))
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 60)));
}
