// The browser libraries the binary serves are exactly the versions the
// lockfile pins (run `npm run vendor` after changing one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FILES, source, target } from "../scripts/vendor.mjs";

test("static/vendor matches node_modules byte for byte", () => {
  for (const [from, to] of FILES) {
    assert.ok(readFileSync(source(from)).equals(readFileSync(target(to))), `static/vendor/${to} differs from node_modules/${from}: run npm run vendor`);
  }
});

test("the pages load nothing from outside the server", () => {
  for (const page of ["index.html", "resident.html", "volunteer.html", "coordinator.html"]) {
    const html = readFileSync(new URL(`../static/${page}`, import.meta.url), "utf8");
    const external = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => /^(https?:)?\/\//.test(u));
    assert.deepEqual(external, [], `${page} loads ${external.join(", ")}`);
  }
});

test("every vendored script and stylesheet is used by a page, and every one a page (or the service worker) names is vendored", () => {
  const vendored = FILES.map(([, to]) => "/vendor/" + to);
  const used = new Set();
  for (const file of ["index.html", "resident.html", "volunteer.html", "coordinator.html", "sw.js"]) {
    const text = readFileSync(new URL(`../static/${file}`, import.meta.url), "utf8");
    for (const m of text.matchAll(/["'](\/vendor\/[^"']+)["']/g)) {
      assert.ok(vendored.includes(m[1]), `${file} names ${m[1]}, which scripts/vendor.mjs does not copy`);
      used.add(m[1]);
    }
  }
  const unused = vendored.filter((v) => /\.(js|css)$/.test(v) && !used.has(v));
  assert.deepEqual(unused, [], "vendored but loaded by no page: drop them from scripts/vendor.mjs");
  // Each library keeps its licence beside it.
  for (const dir of new Set(vendored.map((v) => v.split("/")[2]))) assert.ok(vendored.includes(`/vendor/${dir}/LICENSE`), `${dir} has no LICENSE`);
});
