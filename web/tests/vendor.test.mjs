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
