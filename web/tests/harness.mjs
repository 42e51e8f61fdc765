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

export async function startServer() {
  const bin = process.env.ZHONGDUI_BIN;
  if (!bin) throw new Error("set ZHONGDUI_BIN to the built zhongdui binary");
  const dir = mkdtempSync(join(tmpdir(), "zd-web-"));
  const env = { ...process.env, RUST_LOG: "warn" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
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
