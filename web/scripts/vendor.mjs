// Copies the browser libraries the pages use from node_modules (versions
// pinned in package-lock.json) into static/vendor/, which the zhongdui binary
// embeds; nothing is fetched from a CDN. Run `npm run vendor` after changing
// a version; tests/vendor.test.mjs fails when the copies drift.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
export const FILES = [
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet/LICENSE", "leaflet/LICENSE"],
  ["leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"],
  ["leaflet.markercluster/dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"],
  ["leaflet.markercluster/dist/MarkerCluster.Default.css", "leaflet.markercluster/MarkerCluster.Default.css"],
  ["leaflet.markercluster/MIT-LICENCE.txt", "leaflet.markercluster/LICENSE"],
];
export const source = (from) => join(web, "node_modules", from);
export const target = (to) => join(web, "static", "vendor", to);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [from, to] of FILES) {
    mkdirSync(dirname(target(to)), { recursive: true });
    copyFileSync(source(from), target(to));
    console.log(`vendored ${from} -> static/vendor/${to}`);
  }
  const lock = JSON.parse(readFileSync(join(web, "package-lock.json"), "utf8"));
  for (const name of ["leaflet", "leaflet.markercluster"]) console.log(`${name} ${lock.packages["node_modules/" + name].version}`);
}
